"""Village service station staff place an order for a villager without a smartphone, take the
cash, record the parcel's arrival, and hand it over when the villager says the pickup code; on a
360 px Chromium in zh-CN, every page without sideways scrolling and with 44 px tap targets.

The demo seeds a sample station in each village and one staff account (13800000020).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.models import Account, Batch, Fulfilment, Order, OrderStatus, Role, StationOrder
from farmgate.orders import service as orders
from tests.support.browser import NEEDS_CHROMIUM, check_phone, shot, submit

pytestmark = NEEDS_CHROMIUM

# The console's convention (tests/e2e/test_console_trace.py): a checkbox's tap target is its
# whole label.choice row, and a link inside running text is text.
CONSOLE_TARGETS = """() => [...document.querySelectorAll(
  'a, button, select, textarea, label.choice, input:not([type=hidden]):not([type=checkbox])')]
  .filter(e => !e.closest('.skip, .desk-top, p, dd') && e.getClientRects().length)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def test_staff_order_for_a_villager_who_picks_it_up_with_the_code(  # type: ignore[no-untyped-def]
    page, app_url, app_db: Path
) -> None:
    page.goto("/login")
    page.fill("input[name=phone]", "13800000020")
    page.fill("input[name=password]", "farmgate-demo")
    submit(page, "button[type=submit]")
    assert page.url.endswith("/station") and "电商服务站（示例）" in page.content()
    check_phone(page, "60-station-home")

    # 1. choose: search, then one tap on the SKU (only in-stock SKUs, grouped by product).
    submit(page, "text=为村民代下单")
    assert "第1步" in page.content()
    check_phone(page, "61-station-order-choose")
    page.fill("input[name=q]", "辣椒")
    submit(page, "button:text-is('搜索')")
    assert "谭家场干红辣椒" in page.content() and "压榨山茶油" not in page.content()
    check_phone(page, "61a-station-order-search")
    submit(page, "a.pick-row >> nth=0")
    # 2. how many: one box; a wrong number is refused beside the field.
    assert "第2步" in page.content()
    page.fill("input[name=n]", "0")
    submit(page, "button:text-is('加入订单')")
    assert "n-error" in page.content()
    check_phone(page, "61b-station-order-quantity-error")
    page.fill("input[name=n]", "2")
    submit(page, "button:text-is('加入订单')")
    # 3. the order: the chosen line, the villager, and the submit button within reach.
    assert "第3步" in page.content() and "× 2" in page.locator(".basket").inner_text()
    viewport = page.viewport_size
    assert viewport is not None
    button = page.locator("button:text-is('提交订单')").bounding_box()
    assert button is not None and button["y"] < 2 * viewport["height"], button  # a short scroll
    check_phone(page, "61c-station-order-form")
    page.fill("input[name=villager_phone]", "13912345678")
    submit(page, "button:text-is('提交订单')")
    assert "villager_name-error" in page.content()  # the error beside the field
    assert page.locator("input[name=villager_phone]").input_value() == "13912345678"
    assert "× 2" in page.locator(".basket").inner_text()
    check_phone(page, "62-station-order-error")

    page.fill("input[name=villager_name]", "王奶奶")
    page.check("input[name=delivery_method][value=pickup]")
    submit(page, "button:text-is('提交订单')")
    assert "订单已提交" in page.content()
    number = page.url.split("/station/orders/")[1].split("?")[0]
    code = page.locator("#pickup-code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    check_phone(page, "63-station-order-placed")

    submit(page, "button:has-text('已收到现金')")
    assert "已登记收到现金" in page.content()
    check_phone(page, "64-station-cash-received")

    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:  # the cooperative packs it (its desk has its own test)
        order = session.query(Order).filter_by(number=number).one()
        assert order.status == OrderStatus.PAID and order.account_id is None
        fulfilment = session.query(Fulfilment).filter_by(order_id=order.id).one()
        packer = (
            session.query(Account)
            .filter_by(role=Role.COOPERATIVE, cooperative_id=fulfilment.cooperative_id)
            .first()
        )
        orders.mark_packed(session, packer, fulfilment.id)  # type: ignore[arg-type]
        session.commit()

    page.goto(f"/station/orders/{number}")
    submit(page, "button:text-is('包裹已到本站')")
    assert "已登记到站" in page.content()
    check_phone(page, "65-station-arrived")

    submit(page, "a:text-is('凭取货码交付')")
    wrong = "000000" if code != "000000" else "111111"
    page.fill("input[name=code]", wrong)
    submit(page, "button:text-is('核对并交付')")
    assert "没有这个取货码" in page.content()
    assert page.locator("input[name=code]").input_value() == wrong
    check_phone(page, "66-station-wrong-code")
    page.fill("input[name=code]", code)
    submit(page, "button:text-is('核对并交付')")
    assert "已交付" in page.content()
    check_phone(page, "67-station-handed-over")

    with Session(engine) as session:
        order = session.query(Order).filter_by(number=number).one()
        link = session.get(StationOrder, order.id)
        assert order.status == OrderStatus.DELIVERED
        assert link is not None and link.picked_up_at is not None
        assert link.placed_by_account_id == link.handed_over_by_account_id
        assert link.villager_name == "王奶奶"

    # Selling for a villager: a household's harvest, listed under the station's cooperative.
    page.goto("/station")
    submit(page, "text=代农户销售收成")
    page.fill("input[name=units]", "3")
    submit(page, "button:text-is('登记并上架')")
    assert "请填写农户姓名" in page.content()
    assert page.locator("input[name=units]").input_value() == "3"
    check_phone(page, "68-station-harvest-error")
    page.fill("input[name=villager_name]", "刘大爷")
    page.select_option("select[name=sku_id]", index=1)
    submit(page, "button:text-is('登记并上架')")
    assert "已登记批次" in page.content()
    check_phone(page, "69-station-harvest-listed")
    with Session(engine) as session:
        assert session.query(Batch).filter(Batch.producer.startswith("刘大爷")).count() == 1  # type: ignore[attr-defined]
    engine.dispose()


def test_a_buyer_chooses_a_station_for_pickup_and_pays_there_in_cash(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    submit(page, "text=谭家场干红辣椒")
    submit(page, "text=加入购物车")
    submit(page, "text=去结算")
    page.fill("input[name=recipient]", "李四")
    page.fill("input[name=phone]", "13912345678")
    page.check("input[name=delivery_method][value=pickup]")
    submit(page, "text=提交订单")
    assert "请选择服务站" in page.content()  # pickup names a station; nothing else is asked
    page.select_option("select[name=station_id]", index=1)
    shot(page, "70-station-checkout")
    submit(page, "text=提交订单")
    page.wait_for_selector("#pickup-code")
    assert (
        "电商服务站（示例）" in page.content()
        and "运费" not in page.locator(".station-box").inner_text()
    )
    submit(page, "text=到村服务站现金付款")
    assert "到村服务站付款" in page.content()
    shot(page, "71-station-buyer-order")


def test_the_admin_sets_a_stations_hours_day_by_day(page) -> None:  # type: ignore[no-untyped-def]
    """The console's opening hours: one row per weekday, a wrong time refused beside its day
    with what was typed kept, a day off ticked; the staff's home then shows the week."""
    page.goto("/login")
    page.fill("input[name=phone]", "13800000000")
    page.fill("input[name=password]", "farmgate-demo")
    submit(page, "button[type=submit]")
    page.goto("/township/stations")
    submit(page, ".card-title a >> nth=0")
    check_phone(page, "72-console-station-hours", CONSOLE_TARGETS)

    page.fill("input[name=open_6]", "9点")
    page.check("input[name=rest_7]")
    submit(page, "form[action^='/township/stations/'] button:text-is('保存')")
    assert "周六开门时间请按 08:00 的格式填写" in page.inner_text("#open_6-error")
    assert page.input_value("input[name=open_6]") == "9点"  # nothing typed is lost
    assert page.is_checked("input[name=rest_7]")
    check_phone(page, "73-console-station-hours-error", CONSOLE_TARGETS)

    page.fill("input[name=open_6]", "09:00")
    page.fill("input[name=close_6]", "12:00")
    submit(page, "form[action^='/township/stations/'] button:text-is('保存')")
    assert "周一至周五 08:00–18:00，周六 09:00–12:00，周日休息" in page.inner_text("main")
    check_phone(page, "74-console-station-hours-saved", CONSOLE_TARGETS)
