"""A cooperative's 批次与溯源 on a 360 px Chromium: a harvest refused before the pesticide's
interval, one recorded after it, an inspection with its PDF, the 合格证 and 20 unit codes, and
the PDFs downloaded and their QR codes read back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import zxingcpp

from farmgate.timeutil import local_today
from tests.support.browser import ARTIFACTS, NEEDS_CHROMIUM, shot, submit
from tests.support.labels import pdf_pages

pytestmark = NEEDS_CHROMIUM

TODAY = local_today()
# Everything a finger may tap (the radio and check boxes count through their labels).
TAPPABLE = (
    "a, button, select, label.choice, "
    "input:not([type=radio]):not([type=checkbox]):not([type=hidden])"
)


def _fits_a_phone(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """No horizontal scroll at 360 px, and every visible control at least 44 px high."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, name
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .map(e => [e, e.getBoundingClientRect()])
            .filter(([e, r]) => r.width > 0 && r.height > 0 && r.left >= 0)
            .filter(([e, r]) => r.height < 44)
            .map(([e, r]) => e.outerHTML.slice(0, 80) + ' ' + r.height)""",
        TAPPABLE,
    )
    assert small == [], (name, small)
    shot(page, f"40-desk-trace-{name}")


def _new_lot(page) -> str:  # type: ignore[no-untyped-def]
    page.goto("/coop/batches")
    submit(page, "a.button:has-text('登记新批次')")
    page.select_option("#product_id", label="谭家场干红辣椒")
    page.fill("#quantity", "300")
    page.fill("#unit", "公斤")
    page.fill("#plot_name", "谭家场 3 号地")
    page.fill("#producer", "张三")
    _fits_a_phone(page, "02-new-lot")
    submit(page, "button:has-text('保存批次')")
    assert "批次已登记" in page.content()
    return page.url


def _pesticide(page, days_ago: int, interval: int, name: str) -> None:  # type: ignore[no-untyped-def]
    submit(page, "a.button:has-text('登记施肥用药')")
    page.fill("#product_name", "吡虫啉")
    page.fill("#dose", "每亩 50 毫升")
    page.fill("#applied_on", str(TODAY - timedelta(days=days_ago)))
    page.fill("#preharvest_interval_days", str(interval))
    _fits_a_phone(page, name)
    submit(page, "button:has-text('保存施肥用药记录')")


def _download(page, selector: str) -> bytes:  # type: ignore[no-untyped-def]
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


def _codes(pdf: bytes) -> set[str]:
    found: set[str] = set()
    for _page, image in pdf_pages(pdf):
        found |= {r.text for r in zxingcpp.read_barcodes(image.convert("L"))}
    return found


def test_a_cooperative_records_a_lot_and_prints_its_certificate_and_labels(page, app_url) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=phone]", "13800000001")
    page.fill("input[name=password]", "farmgate-demo")
    submit(page, "button[type=submit]")
    submit(page, ".desk-nav >> text=批次与溯源")
    _fits_a_phone(page, "01-lots")

    # A pesticide two days ago, 14 days' interval: the harvest is refused, with the day.
    _new_lot(page)
    _pesticide(page, 2, 14, "03-pesticide")
    ready = TODAY + timedelta(days=12)
    assert f"安全间隔期未满：最早 {ready} 可采收/放行" in page.inner_text("#verdict")
    _fits_a_phone(page, "04-lot-waiting")
    submit(page, "a.button:has-text('登记采收')")
    page.fill("#harvest_date", str(TODAY))
    submit(page, "button:has-text('确认采收日期')")
    assert f"最早可于 {ready} 采收" in page.inner_text(".error-summary")
    assert page.input_value("#harvest_date") == str(TODAY)
    _fits_a_phone(page, "05-harvest-refused")

    # A lot whose interval has passed.
    lot_url = _new_lot(page)
    _pesticide(page, 30, 7, "06-pesticide-old")
    submit(page, "a.button:has-text('登记采收')")
    submit(page, "button:has-text('确认采收日期')")
    assert "采收已登记" in page.content()

    submit(page, "a.button:has-text('登记检测报告')")
    page.fill("#lab", "辰溪县农产品质量安全检测站")
    page.fill("#report_no", "CX-2026-118")
    page.fill("#item_1", "毒死蜱")
    page.fill("#result_1", "未检出")
    page.fill("#limit_1", "≤0.02 mg/kg")
    page.set_input_files(
        "#report",
        files=[{"name": "报告.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}],
    )  # fmt: skip
    _fits_a_phone(page, "07-inspection")
    submit(page, "button:has-text('保存检测报告')")
    assert "检测报告已保存" in page.content()

    submit(page, "a.button:has-text('开具承诺达标合格证')")
    page.check("input[value=commissioned_test]")
    page.check("input[value=self_commitment]")
    _fits_a_phone(page, "08-compliance")
    submit(page, "button:has-text('开具合格证')")
    assert "合格证已开具" in page.content()
    _fits_a_phone(page, "09-lot-certified")
    certificate = _download(page, "a.button:has-text('打印合格证（A6）')")
    assert certificate.startswith(b"%PDF-")
    assert any("/10/" in code for code in _codes(certificate))

    submit(page, "a.button:has-text('发放单品码')")
    page.fill("#count", "20")
    _fits_a_phone(page, "10-serials")
    submit(page, "button:has-text('发放单品码')")
    assert "单品码已发放" in page.content()
    preview = page.locator(".qr-preview img")
    assert preview.evaluate("img => img.complete && img.naturalWidth > 100")
    _fits_a_phone(page, "11-labels")
    units = _codes(_download(page, "button:has-text('下载标签 PDF')"))
    assert len(units) >= 15 and all("/21/" in code for code in units)
    page.check("input[name=kind][value=lot]")
    page.check("input[name=layout][value=a5-8]")
    page.fill("#count", "8")
    lot_codes = _codes(_download(page, "button:has-text('下载标签 PDF')"))
    assert len(lot_codes) == 1 and "/21/" not in next(iter(lot_codes))

    page.goto(lot_url.split("?")[0])
    assert "已发放单品码 20 个" in page.content()
    _fits_a_phone(page, "12-lot-done")
    ARTIFACTS.mkdir(exist_ok=True)
