"""A buyer asks for a 普通发票 on a paid order, the cooperative uploads it on its desk and the
buyer downloads it, on a 360 px Chromium: no sideways scrolling, tap targets 44 px high."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.models import InvoiceRequest
from tests.support import desk
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, SMALL_TARGETS, check_phone, submit

pytestmark = NEEDS_CHROMIUM

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# The shop's header is not this page's; the invoice page's own targets are checked.
INVOICE_TARGETS = SMALL_TARGETS.replace(
    "document.querySelectorAll(", "document.querySelector('main').querySelectorAll("
)


def _sign_in(page, phone: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    submit(page, "button[type=submit]")


def test_an_invoice_is_asked_for_issued_and_downloaded(  # type: ignore[no-untyped-def]
    page, app_url, app_db: Path, tmp_path: Path
) -> None:
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "龙头庵茶叶合作社", lot="LTA2026")
        buyer = f.create_account(session)
        order = desk.order(session, shop.sku, buyer=buyer)
        session.commit()
        buyer_phone, owner_phone, number = buyer.phone, shop.owner.phone, order.number

    _sign_in(page, buyer_phone)
    page.goto(f"/orders/{number}")
    submit(page, "text=申请发票 / 下载发票")
    check_phone(page, "90-invoice-ask", INVOICE_TARGETS)
    page.check("input[name=title_type][value=company]")
    page.fill("#title", "辰溪县谭家场农业发展有限公司")
    page.fill("#tax_number", "91431223MA4L1234")
    submit(page, "text=提交发票申请")
    assert "统一社会信用代码应为18位" in page.content()
    assert page.input_value("#title") == "辰溪县谭家场农业发展有限公司"  # nothing typed is lost
    check_phone(page, "91-invoice-ask-error", INVOICE_TARGETS)
    page.fill("#tax_number", f.valid_uscc(11))
    submit(page, "text=提交发票申请")
    assert "已提交发票申请" in page.content() and "待开票" in page.content()
    check_phone(page, "92-invoice-asked", INVOICE_TARGETS)

    _sign_in(page, owner_phone)
    page.goto("/coop/orders")
    submit(page, "text=发票申请")
    assert number in page.content()
    check_phone(page, "93-coop-invoices")
    submit(page, "text=开票并上传")
    check_phone(page, "94-coop-invoice")
    not_pdf = tmp_path / "photo.pdf"
    not_pdf.write_bytes(b"\x89PNG\r\n\x1a\n")
    page.set_input_files("#pdf", str(not_pdf))
    page.fill("#invoice_no", "24432000000012345678")
    submit(page, "text=上传发票，标记为已开票")
    assert "这个文件不是 PDF" in page.content()
    assert page.input_value("#invoice_no") == "24432000000012345678"
    check_phone(page, "95-coop-invoice-error")
    real = tmp_path / "发票.pdf"
    real.write_bytes(PDF)
    page.set_input_files("#pdf", str(real))
    submit(page, "text=上传发票，标记为已开票")
    assert "已标记为已开票" in page.content()
    check_phone(page, "96-coop-invoice-issued")

    _sign_in(page, buyer_phone)
    page.goto(f"/orders/{number}/invoice")
    check_phone(page, "97-invoice-ready", INVOICE_TARGETS)
    with page.expect_download() as caught:
        page.click("text=下载发票（PDF）")
    saved = tmp_path / "downloaded.pdf"
    caught.value.save_as(saved)
    assert saved.read_bytes() == PDF
    with Session(engine) as session:
        assert session.query(InvoiceRequest).one().status == "issued"
    engine.dispose()
