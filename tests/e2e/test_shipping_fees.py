"""A phone sees the shipping fee before ordering: a chilled parcel (辰溪稻花鱼, 600 g) quoted
to 湖南 and then, after the buyer changes the province and presses the button (no script
needed), to 广东; the order keeps the fee it was quoted. Sample rules: in province 10 yuan up
to 3 kg, neighbouring provinces 12 yuan up to 1 kg, plus 15 yuan for a chilled parcel."""

from __future__ import annotations

from tests.support.browser import NEEDS_CHROMIUM, check_phone, shot, submit

pytestmark = NEEDS_CHROMIUM


def test_checkout_quotes_a_chilled_parcel_by_province(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    submit(page, "text=辰溪稻花鱼")
    submit(page, "text=加入购物车")
    assert "运费 ¥25.00" in page.inner_text(".group")  # estimated to the township's province
    check_phone(page, "shipping-01-cart")

    submit(page, "text=去结算")
    fee = page.locator(".fee-list .fee")
    assert (
        fee.count() == 1 and "¥25.00" in fee.inner_text() and "冷藏加收¥15.00" in fee.inner_text()
    )
    check_phone(page, "shipping-02-checkout-hunan")

    for name, value in {
        "recipient": "王五",
        "phone": "13912345678",
        "province": "广东省",
        "city": "广州市",
        "county": "天河区",
        "township": "石牌街道",
        "address_detail": "华师路1号",
    }.items():
        page.fill(f"input[name={name}]", value)
    submit(page, "text=按新地址更新运费")
    assert "¥27.00" in fee.inner_text() and "寄邻近省份" in fee.inner_text()
    assert page.input_value("input[name=recipient]") == "王五"  # nothing typed is lost
    assert page.input_value("input[name=address_detail]") == "华师路1号"
    assert "应付 ¥62.00" in page.inner_text(".total")  # 35 + 27
    check_phone(page, "shipping-03-checkout-guangdong")

    submit(page, "text=提交订单")
    page.wait_for_selector("text=待付款")
    assert "62.00" in page.content()
    shot(page, "shipping-04-order")


def test_the_desk_refuses_overlapping_bands_at_360_px(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=phone]", "13800000001")
    page.fill("input[name=password]", "farmgate-demo")
    submit(page, "button[type=submit]")
    page.goto("/coop/shipping")
    check_phone(page, "shipping-05-desk-rules")
    page.fill("textarea[name=zone0_bands]", "0-3000 10\n2500-5000 13")
    submit(page, "text=保存运费规则")
    assert "重量段重叠" in page.inner_text("#zone0")
    assert page.input_value("textarea[name=zone0_bands]") == "0-3000 10\n2500-5000 13"
    check_phone(page, "shipping-06-desk-overlap")
