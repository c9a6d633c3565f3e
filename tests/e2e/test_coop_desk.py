"""A cooperative works its product desk on a 360 px phone: sign in, create a product with two
SKUs, upload two photos, submit it for review, restock. Every page is checked for horizontal
scrolling and for controls smaller than a thumb (44 px), and photographed in test-artifacts/.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from tests.support.browser import NEEDS_CHROMIUM
from tests.support.browser import shot as _shot
from tests.support.browser import submit as _submit

pytestmark = NEEDS_CHROMIUM

# What a person taps: the sections, buttons, links styled as buttons, and form fields.
TAPPABLE = (
    ".desk-nav a, a.button, a.back, .error-summary a, main button, "
    "main input:not([type=hidden]), main select, main textarea"
)


def _fits_a_phone(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """No sideways scrolling at 360 px; every visible control at least 44 px high."""
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= 360, (name, width)
    small = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
            .filter(el => el.offsetParent !== null)
            .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)""",
        TAPPABLE,
    )
    assert small == [], (name, small)
    _shot(page, name)


def _photo(path: Path, color: tuple[int, int, int]) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), color).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


def test_a_cooperative_creates_a_product_with_photos_submits_it_and_restocks(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=phone]", "13800000001")
    page.fill("input[name=password]", "farmgate-demo")
    _submit(page, "button[type=submit]")
    assert page.url.endswith("/coop/products")
    assert "红辣椒种植专业合作社" in page.inner_text(".desk-coop")
    _fits_a_phone(page, "30-desk-products")

    _submit(page, "text=新增商品")
    _fits_a_phone(page, "31-desk-new-product")
    # Saved with a mistake first: the error is shown and nothing typed is lost.
    page.fill("#name", "谭家场剁辣椒")
    page.select_option("#category", label="干货调味")
    page.select_option("#village_id", label="谭家场")
    page.select_option("#unit", "瓶")
    page.fill("#shelf_life_days", "180")
    page.fill("#description", "新鲜红辣椒手工剁碎，坛子腌制。")
    page.fill("#spec_1", "500克瓶装")
    page.fill("#price_1", "12.505")
    page.fill("#stock_1", "60")
    page.fill("#weight_g_1", "700")
    page.fill("#spec_2", "两瓶礼盒")
    page.fill("#price_2", "30")
    page.fill("#stock_2", "3")
    page.fill("#weight_g_2", "1500")
    _submit(page, "button:has-text('保存为草稿')")
    assert page.locator(".error-summary").is_visible()
    assert page.evaluate("() => document.activeElement.className") == "error-summary"
    assert "价格最多填到分" in page.inner_text("#price_1-error")
    assert page.input_value("#spec_2") == "两瓶礼盒"
    _fits_a_phone(page, "32-desk-new-product-error")
    page.click(".error-summary a")  # the summary's link takes the person to the field
    assert page.evaluate("() => document.activeElement.id") == "price_1" or page.url.endswith(
        "#price_1"
    )
    page.fill("#price_1", "12.5")
    _submit(page, "button:has-text('保存为草稿')")
    assert "商品已保存为草稿" in page.content()
    assert page.locator(".sku-row").count() == 2
    _fits_a_phone(page, "33-desk-product-saved")
    product_url = page.url.split("?")[0]

    _submit(page, "text=管理照片")
    _fits_a_phone(page, "34-desk-photos-empty")
    # Too large a photo is stopped before it is sent, with the message beside the field.
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    page.set_input_files("#photos", str(huge))
    page.click("button:has-text('上传照片')")
    assert "图片不能超过 8 MB" in page.inner_text("#photos-error")
    assert page.url.endswith("/photos")
    _fits_a_phone(page, "35-desk-photos-too-large")
    page.set_input_files(
        "#photos",
        [
            _photo(tmp_path / "red.jpg", (190, 30, 20)),
            _photo(tmp_path / "green.jpg", (30, 140, 60)),
        ],
    )
    _submit(page, "button:has-text('上传照片')")
    assert "照片已上传" in page.content() and page.locator(".album img").count() == 2
    _submit(page, ".photo:nth-child(2) button:has-text('设为封面')")
    assert "封面已更换" in page.content()
    _fits_a_phone(page, "36-desk-photos")

    page.goto(product_url)
    _submit(page, "main button:has-text('提交审核')")
    assert "已提交审核" in page.content() and "待审核" in page.inner_text("main")
    _fits_a_phone(page, "37-desk-submitted")

    page.goto("/coop/products")
    _submit(page, "text=补库存")
    _fits_a_phone(page, "38-desk-restock")
    field = page.get_by_label("两瓶礼盒 的库存")
    field.fill("40")
    _submit(page, "button:has-text('保存全部库存')")
    assert "库存已更新" in page.content()
    assert page.get_by_label("两瓶礼盒 的库存").input_value() == "40"
    _fits_a_phone(page, "39-desk-restocked")

    page.goto(product_url)
    _submit(page, ".sku-row:first-child a:has-text('修改')")
    assert page.input_value("#stock") == "60"
    _fits_a_phone(page, "40-desk-sku")

    page.goto("/coop/products/import")
    _fits_a_phone(page, "41-desk-import")
