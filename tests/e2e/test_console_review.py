"""The township admin reviews on a 360 px Chromium: lands on today, approves a cooperative
that applied, sends a product back with a reason the cooperative reads on its desk, and
approves it once edited; each decision is in the audit log."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import audit, db
from farmgate.catalog import service as catalog
from farmgate.models import CooperativeStatus, Role, Township
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, shot, submit

pytestmark = NEEDS_CHROMIUM

ADMIN_PHONE, DEMO_PASSWORD = "13800000000", "farmgate-demo"
REASON = "主图太暗，看不清竹编纹理，请换一张白天拍的"


SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, textarea')]
  .filter(e => !e.closest('.skip, .desk-top, .error-summary') && e.getClientRects().length)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def _fits(page, name: str) -> None:
    """No sideways scrolling at 360 px, tap targets at least 44 px high; then a screenshot."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, (name, width)
    assert page.evaluate(SMALL_TARGETS) == [], name
    shot(page, name)


def _sign_in(page, phone: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    submit(page, "button[type=submit]")


def test_the_admin_reviews_a_cooperative_and_a_product(page, app_url, app_db: Path) -> None:
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        township = session.query(Township).first()
        assert township is not None
        applied = f.create_cooperative(
            session, township, status=CooperativeStatus.PENDING, name="溪头竹笋合作社"
        )
        maker = f.create_cooperative(session, township, name="竹编手艺合作社")
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=maker)
        product = f.create_product(
            session,
            staff,
            f.first_village(session, township),
            published=False,
            name="手工竹编果篮",
            category="handicraft",
            unit="件",
        )
        catalog.submit_for_review(session, staff, product.id)  # type: ignore[arg-type]
        session.commit()
        applied_id, product_id, staff_phone = applied.id, product.id, staff.phone

    # The admin signs in and lands on today's work.
    _sign_in(page, ADMIN_PHONE, DEMO_PASSWORD)
    assert page.url.endswith("/township")
    assert page.locator("#todo-cooperatives .count").inner_text() != "0"
    _fits(page, "70-console-today")

    # Approves the cooperative that applied.
    submit(page, "#todo-cooperatives")
    card = page.locator(f"#coop-{applied_id}")
    assert "校验位正确" in card.inner_text()
    _fits(page, "71-console-review-cooperatives")
    submit(page, f"#coop-{applied_id} >> text=批准入驻")
    assert "已批准该合作社" in page.content()
    _fits(page, "72-console-cooperative-approved")

    # Sends the product back; an empty reason is refused first.
    page.goto("/township/review/products")
    item = f"#product-{product_id}"
    assert "首次提交" in page.locator(item).inner_text()
    _fits(page, "73-console-review-products")
    submit(page, f"{item} >> text=退回修改")
    assert "请填写退回原因" in page.locator(".error-summary").inner_text()
    _fits(page, "74-console-product-reason-missing")
    page.fill(f"{item} textarea[name=reason]", REASON)
    submit(page, f"{item} >> text=退回修改")
    assert "已退回" in page.content()

    # The cooperative reads the reason on its desk, edits and resubmits.
    _sign_in(page, staff_phone, f.PASSWORD)
    page.goto("/coop/products")
    assert REASON in page.content() and "未通过审核" in page.content()
    _fits(page, "75-desk-product-sent-back")
    page.goto(f"/coop/products/{product_id}")
    page.fill("textarea[name=description]", "白天重拍了主图；老篾匠手工编织，可装水果。")
    submit(page, "text=保存商品信息")
    submit(page, "text=提交审核")
    assert "待审核" in page.content()
    _fits(page, "76-desk-product-resubmitted")

    # The admin approves it.
    _sign_in(page, ADMIN_PHONE, DEMO_PASSWORD)
    page.goto("/township/review/products")
    assert "老篾匠手工编织" in page.locator(item).inner_text()
    submit(page, f"{item} >> text=批准上架")
    assert "已批准上架" in page.content()
    _fits(page, "77-console-product-approved")

    with Session(engine) as session:
        actions = [
            (e.action, e.target_id)
            for e in reversed(audit.entries(session, action="product"))
            if e.target_id == product_id
        ]
        assert actions == [("product.reject", product_id), ("product.approve", product_id)]
        (approved,) = audit.entries(session, target="cooperative", target_id=applied_id)
        assert approved.action == "cooperative.approve" and approved.after == {
            "status": "approved",
            "review_note": "",
        }
