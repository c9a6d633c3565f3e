"""普通发票: the buyer asks on a paid order, each cooperative uploads its PDF on the desk,
and only the buyer, that cooperative and the admin can download it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.errors import ValidationFailed
from farmgate.models import Fulfilment, InvoiceRequest, Role
from farmgate.orders import invoices
from tests.support import desk
from tests.support import factories as f
from tests.support.web import csrf_token

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_the_title_and_tax_number_are_checked() -> None:
    company = invoices.InvoiceForm("company", " 辰溪县  谭家场农业公司 ", f.valid_uscc(7).lower())
    clean = invoices.check_form(company)
    assert clean.title == "辰溪县 谭家场农业公司" and clean.tax_number == f.valid_uscc(7)
    assert (
        invoices.check_form(invoices.InvoiceForm("personal", "个人", "whatever")).tax_number == ""
    )
    bad = [
        (invoices.InvoiceForm("company", "某公司", ""), "tax_number", "请填写税号"),
        (invoices.InvoiceForm("company", "某公司", "91430000MA4L0000X0"), "tax_number", "校验位"),
        (invoices.InvoiceForm("company", "某公司", "123"), "tax_number", "18位"),
        (invoices.InvoiceForm("personal", "  ", ""), "title", "请填写抬头"),
        (invoices.InvoiceForm("personal", "长" * 101, ""), "title", "100"),
        (invoices.InvoiceForm("vip", "个人", ""), "title_type", "请选择"),
    ]
    for form, field, words in bad:
        with pytest.raises(ValidationFailed) as caught:
            invoices.check_form(form)
        assert words in caught.value.fields[field], (form, caught.value.fields)


def test_a_buyer_asks_and_each_cooperative_issues_its_own(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    chilli = desk.shop(session)
    fish = desk.shop(session, name="稻花鱼合作社", lot="TJC2026B")
    buyer = f.create_account(session)
    order = desk.order(session, chilli.sku, fish.sku, buyer=buyer)
    f.login_browser(client, session, buyer)
    assert f"/orders/{order.number}/invoice" in client.get(f"/orders/{order.number}").text
    page = client.get(f"/orders/{order.number}/invoice")
    assert page.status_code == 200 and "提交发票申请" in page.text
    form = {
        "title_type": "company",
        "title": "谭家场农业公司",
        "tax_number": "12345",
        "csrf_token": csrf_token(page.text),
    }
    refused = client.post(f"/orders/{order.number}/invoice", data=form)
    assert refused.status_code == 422
    assert "统一社会信用代码应为18位" in refused.text and 'value="谭家场农业公司"' in refused.text
    assert session.query(InvoiceRequest).count() == 0
    form["tax_number"] = f.valid_uscc(3)
    for _ in range(2):  # sent twice: asked once
        asked = client.post(f"/orders/{order.number}/invoice", data=form, follow_redirects=False)
        assert asked.status_code == 303
    rows = session.query(InvoiceRequest).order_by(InvoiceRequest.id).all()
    parts = session.query(Fulfilment).filter_by(order_id=order.id).order_by(Fulfilment.id).all()
    assert [(r.cooperative_id, r.amount_fen) for r in rows] == [
        (p.cooperative_id, p.items_fen + p.shipping_fen) for p in parts
    ]
    assert {r.tax_number for r in rows} == {f.valid_uscc(3)}
    mine = next(r for r in rows if r.cooperative_id == chilli.coop.id)
    theirs = next(r for r in rows if r.cooperative_id == fish.coop.id)
    status = client.get(f"/orders/{order.number}/invoice?done=asked").text
    assert "已提交发票申请" in status and "待开票" in status and "/pdf" not in status

    # The chilli cooperative's desk: its request only; the fish cooperative's is not found.
    f.login_browser(client, session, chilli.owner)
    listed = client.get("/coop/invoices").text
    assert order.number in listed and f"/coop/invoices/{mine.id}" in listed
    assert f"/coop/invoices/{theirs.id}" not in listed
    assert client.get(f"/coop/invoices/{theirs.id}").status_code == 404
    page = client.get(f"/coop/invoices/{mine.id}")
    assert page.status_code == 200 and f.valid_uscc(3) in page.text
    token = csrf_token(page.text)
    not_pdf = client.post(
        f"/coop/invoices/{mine.id}/issue",
        data={"csrf_token": token, "invoice_no": "24432000000012345678"},
        files={"pdf": ("发票.pdf", b"\x89PNG\r\n\x1a\n not a pdf", "application/pdf")},
    )
    assert not_pdf.status_code == 422 and "这个文件不是 PDF" in not_pdf.text
    assert 'value="24432000000012345678"' in not_pdf.text  # what was typed is kept
    empty = client.post(f"/coop/invoices/{mine.id}/issue", data={"csrf_token": token})
    assert empty.status_code == 422 and "请选择发票的 PDF 文件" in empty.text
    issued = client.post(
        f"/coop/invoices/{mine.id}/issue",
        data={"csrf_token": token, "invoice_no": "24432000000012345678"},
        files={"pdf": ("发票.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert issued.status_code == 303
    session.expire_all()
    done = session.get(InvoiceRequest, mine.id)
    assert done is not None and (done.status, done.pdf_size, done.invoice_no) == (
        "issued",
        len(PDF),
        "24432000000012345678",
    )
    assert order.number in client.get("/coop/invoices?show=issued").text
    own = client.get(f"/invoices/{mine.id}/pdf")
    assert own.status_code == 200 and own.content == PDF
    assert client.get(f"/invoices/{theirs.id}/pdf").status_code == 404  # not theirs, not issued

    # The buyer downloads it; the other cooperative's is still waiting.
    f.login_browser(client, session, buyer)
    status = client.get(f"/orders/{order.number}/invoice").text
    assert f"/invoices/{mine.id}/pdf" in status and f"/invoices/{theirs.id}/pdf" not in status
    got = client.get(f"/invoices/{mine.id}/pdf")
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert got.content == PDF and "attachment" in got.headers["content-disposition"]
    assert "no-store" in got.headers["cache-control"]

    # Nobody else: another buyer, the other cooperative's staff, the signed-out; the admin may.
    for other in (
        f.create_account(session),
        fish.owner,
        f.create_account(session, role=Role.ADMIN),
    ):
        f.login_browser(client, session, other)
        expected = 200 if other.role == Role.ADMIN else 404
        assert client.get(f"/invoices/{mine.id}/pdf").status_code == expected, other.role
    f.login_browser(client, session, f.create_account(session))
    assert client.get(f"/orders/{order.number}/invoice").status_code == 404
    client.cookies.clear()
    assert client.get(f"/invoices/{mine.id}/pdf").status_code == 404
    signed_out = client.get(f"/orders/{order.number}/invoice", follow_redirects=False)
    assert signed_out.status_code == 303 and "/login" in signed_out.headers["location"]


def test_an_unpaid_order_has_no_invoice_yet(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = desk.order(session, shop.sku, buyer=buyer, paid=False)
    f.login_browser(client, session, buyer)
    assert "/invoice" not in client.get(f"/orders/{order.number}").text
    page = client.get(f"/orders/{order.number}/invoice")
    assert page.status_code == 200 and "订单付款后才能申请发票" in page.text
    sent = client.post(
        f"/orders/{order.number}/invoice",
        data={"title_type": "personal", "title": "个人", "csrf_token": csrf_token(page.text)},
    )
    assert sent.status_code == 422 and session.query(InvoiceRequest).count() == 0


def test_a_pdf_over_the_limit_is_refused(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = desk.order(session, shop.sku, buyer=buyer)
    (row,) = invoices.ask(session, buyer, order, invoices.InvoiceForm("personal", "个人"))
    monkeypatch.setattr(settings, "invoice_pdf_max_bytes", 1024)
    big = b"%PDF-1.7\n" + b"0" * 2000 + b"\n%%EOF\n"
    with pytest.raises(ValidationFailed) as caught:
        invoices.issue(session, shop.owner, row.id or 0, big)
    assert "不能超过" in caught.value.fields["pdf"]
    with pytest.raises(ValidationFailed):
        invoices.issue(session, shop.owner, row.id or 0, b"%PDF-1.7 but cut short")
    assert invoices.issue(session, shop.owner, row.id or 0, PDF).status == "issued"


def test_asking_twice_at_once_keeps_one_request_per_cooperative(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = desk.order(session, shop.sku, buyer=buyer)
    form = invoices.InvoiceForm("personal", "个人")
    (first,) = invoices.ask(session, buyer, order, form)
    # The second request read "none yet" before the first committed (a race).
    real = invoices.for_order
    calls: list[int] = []

    def first_sees_none(s: Session, o: object) -> list[InvoiceRequest]:
        calls.append(1)
        return [] if len(calls) == 1 else real(s, o)  # type: ignore[arg-type]

    monkeypatch.setattr(invoices, "for_order", first_sees_none)
    again = invoices.ask(session, buyer, order, form)
    assert [r.id for r in again] == [first.id]
    assert session.query(InvoiceRequest).count() == 1 and len(calls) == 2
