"""The township admin on a 360 px Chromium: resolves a cold-chain alert, recalls the lot (its
product stops selling, the order that received it is listed), notes the buyer contacted, closes
the recall, re-drives a dead job, then reads each action back in the audit log."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import db
from farmgate.demo.seed import ADMIN_PHONE, DEMO_PASSWORD
from farmgate.models import Sku
from tests.support import console as c
from tests.support import desk
from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit

pytestmark = NEEDS_CHROMIUM

SMALL_TARGETS = """() => [...document.querySelectorAll(
  'a, button, select, textarea, label.choice, input:not([type=hidden]):not([type=checkbox])')]
  .filter(e => !e.closest('.skip, .desk-top, p, dd') && e.getClientRects().length)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def test_the_admin_resolves_recalls_redrives_and_reads_the_audit_log(
    page, app_url, app_db: Path
) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "溪口冷鲜合作社", lot="XK-COLD-1")
        order = desk.order(session, shop.sku)
        c.packed(session, shop.owner, order, shop.lot)
        alert = c.excursion(session, shop.lot, shipment_id=9001)
        dead = c.dead_job(session, "sms.send", "短信网关超时（HTTP 504）")
        session.commit()
        lot_id, sku_id, number, alert_id = shop.lot.id, shop.sku.id, order.number, alert.id
        dead_id = dead.id

    page.goto("/login")
    page.fill("input[name=phone]", ADMIN_PHONE)
    page.fill("input[name=password]", DEMO_PASSWORD)
    submit(page, "button[type=submit]")

    page.goto("/township/alerts")
    assert "运输 #9001" in page.content()
    check_phone(page, "50-console-alerts", SMALL_TARGETS)
    submit(page, f"#alert-{alert_id} >> text=处理这条预警")
    submit(page, "text=标记为已处理")
    assert "请写明处理情况" in page.inner_text(".error-summary")
    check_phone(page, "51-console-alert-error", SMALL_TARGETS)
    page.fill("#note", "已电话通知合作社，该批次封存待检")
    submit(page, "text=标记为已处理")
    assert "预警已处理" in page.content() and "运输 #9001" not in page.content()

    page.goto(f"/township/batches/{lot_id}")
    check_phone(page, "52-console-lot", SMALL_TARGETS)
    page.fill("#reason", "冷链运输温度超标 95 分钟")
    submit(page, "text=下一步：确认召回范围")
    assert number in page.content()
    check_phone(page, "53-console-recall-confirm", SMALL_TARGETS)
    submit(page, "text=确认召回并停止销售")
    assert "召回已发起" in page.content() and number in page.content()
    check_phone(page, "54-console-recall", SMALL_TARGETS)
    with Session(engine) as session:
        assert not session.get(Sku, sku_id).is_active  # type: ignore[union-attr]

    submit(page, "text=已联系这位买家")
    assert "买家已联系" in page.content()
    submit(page, "a:text-is('结束召回')")
    check_phone(page, "55-console-recall-close", SMALL_TARGETS)
    submit(page, "text=确认结束召回")
    assert "召回已结束" in page.content()

    page.goto("/township/jobs")
    assert "短信网关超时（HTTP 504）" in page.content()
    check_phone(page, "56-console-jobs", SMALL_TARGETS)
    submit(page, f"#dead-{dead_id} >> text=重新投递这个任务")
    assert "已重新投递任务 sms.send" in page.content()

    page.goto("/township/audit")
    text = page.inner_text("main")
    for words in (
        "处理预警",
        "发起召回：批次 XK-COLD-1",
        f"已联系订单 #{order.id} 的买家",
        "结束召回",
        f"重新投递死信任务 sms.send（#{dead_id}）",
    ):
        assert words in text, words
    check_phone(page, "57-console-audit", SMALL_TARGETS)
    engine.dispose()


def test_the_admin_creates_assigns_and_deactivates_a_courier(page, app_url) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=phone]", ADMIN_PHONE)
    page.fill("input[name=password]", DEMO_PASSWORD)
    submit(page, "button[type=submit]")
    page.goto("/township/couriers")
    page.fill("#display_name", "王五")
    page.fill("#phone", "139123")
    submit(page, "text=新建账号并生成初始密码")
    assert "请输入11位中国大陆手机号码" in page.inner_text(".error-summary")
    check_phone(page, "58-console-courier-error", SMALL_TARGETS)
    page.fill("#phone", "13912345678")
    submit(page, "text=新建账号并生成初始密码")
    assert "只显示这一次" in page.content()
    check_phone(page, "59-console-courier-created", SMALL_TARGETS)
    submit(page, "text=下一步：分配负责的村")
    page.locator("input[name=village]").first.check()
    submit(page, "text=保存负责的村")
    assert "负责的村已保存" in page.content()
    check_phone(page, "60-console-courier", SMALL_TARGETS)
    submit(page, "text=停用这个账号")
    submit(page, "text=确认停用")
    assert "不能再登录" in page.content()
