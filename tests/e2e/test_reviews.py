"""Reviews on a 360 px Chromium (zh-CN): a buyer whose order is completed writes a review with
a photo (after a refusal for no stars) and sees it on the product page with the lot received;
a neighbour reports it; the township admin hides it and it leaves the product page. Every page
without sideways scrolling and with tap targets at least 44 px high."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from farmgate import audit, db
from farmgate.models import ProductReview, Role
from tests.support import desk
from tests.support import factories as f
from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit
from tests.support.images import jpeg
from tests.support.reviews import line_of, received_order

pytestmark = NEEDS_CHROMIUM

# The page's own content (the shop's header bar is shared by every page and not checked here).
MAIN_TARGETS = """() => [...document.querySelectorAll(
  'main a, main button, main select, main textarea, main label.choice, ' +
  'main input:not([type=hidden]):not([type=radio])')]
  .filter(e => !e.closest('.skip, .desk-top') && e.getClientRects().length)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


# On the product page, only the reviews section is this work's (the rest is the shop's).
SECTION_TARGETS = MAIN_TARGETS.replace("main ", "#reviews ")


def _sign_in(page, phone: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    submit(page, "button[type=submit]")


def test_a_buyer_reviews_with_a_photo_and_the_admin_hides_a_reported_review(  # type: ignore[no-untyped-def]
    page, app_url, app_db: Path, tmp_path: Path
) -> None:
    engine = db.make_engine(f"sqlite:///{app_db}")
    with Session(engine) as session:
        shop = desk.shop(session, "溪口辣椒合作社", lot="TJC2612A")
        buyer = f.create_account(session)
        order = received_order(session, shop, buyer)
        line_id = line_of(session, order).id
        neighbour = f.create_account(session)
        admin = f.create_account(session, role=Role.ADMIN)
        session.commit()
        number, product_id = order.number, shop.product.id
        phones = (buyer.phone, neighbour.phone, admin.phone)
        admin_id = admin.id
    photo = tmp_path / "chilli.jpg"
    photo.write_bytes(jpeg((1200, 900)))

    # The buyer opens the completed order and follows 评价 on its line.
    _sign_in(page, phones[0])
    page.goto(f"/orders/{number}")
    check_phone(page, "80-review-order", MAIN_TARGETS)
    submit(page, f"a[href='/orders/{number}/lines/{line_id}/review']")
    assert "已购 批次 TJC2612A" in page.content()
    check_phone(page, "81-review-form", MAIN_TARGETS)

    # Sent without stars: the same page, the message, the text kept.
    page.fill("#body", "辣味很正，晒得干透，炒菜很香")
    submit(page, "button.rv-submit")
    assert "请选择 1 到 5 颗星" in page.content()
    assert page.input_value("#body") == "辣味很正，晒得干透，炒菜很香"
    check_phone(page, "82-review-form-error", MAIN_TARGETS)

    page.check("input[name=stars][value='5']")
    page.set_input_files("#photos", str(photo))
    submit(page, "button.rv-submit")
    assert "评价已发布" in page.content()
    check_phone(page, "83-review-posted", MAIN_TARGETS)

    # The product page shows it with the lot the buyer received, its photo and the average.
    page.goto(f"/products/{product_id}")
    card = page.locator(".rv-card").first
    assert "已购 批次 TJC2612A" in card.inner_text()
    assert "辣味很正" in card.inner_text()
    assert page.locator(".rv-count").inner_text() == "1 条评价"
    assert page.locator(".rv-photos img").evaluate("img => img.naturalWidth") > 0
    assert phones[0] not in page.content()
    page.locator("#reviews").scroll_into_view_if_needed()
    check_phone(page, "84-review-on-product", SECTION_TARGETS)

    # A neighbour reports it.
    _sign_in(page, phones[1])
    page.goto(f"/products/{product_id}/reviews")
    check_phone(page, "85-review-list", MAIN_TARGETS)
    submit(page, "a.rv-report")
    page.check("input[name=reason][value=fake]")
    check_phone(page, "86-review-report", MAIN_TARGETS)
    submit(page, "button.rv-submit")
    assert "举报已收到" in page.content()

    # The admin finds it in the console's queue and hides it, with a note.
    _sign_in(page, phones[2])
    page.goto("/township/reviews")
    assert "被举报 1 次" in page.content()
    check_phone(page, "87-console-reviews")
    with Session(engine) as session:
        review_id = session.query(ProductReview).filter_by(order_line_id=line_id).one().id
    submit(page, f"#review-{review_id} button.warning")
    assert "请写明原因" in page.content()
    check_phone(page, "88-console-reviews-error")
    page.fill(f"#note-{review_id}", "经核实为刷单评价")
    submit(page, f"#review-{review_id} button.warning")
    assert "已隐藏这条评价" in page.content()
    check_phone(page, "89-console-reviews-hidden")

    page.goto(f"/products/{product_id}")
    assert "辣味很正" not in page.content() and "还没有评价" in page.content()
    with Session(engine) as session:
        hidden = session.get(ProductReview, review_id)
        assert hidden is not None and hidden.hidden and hidden.hidden_note == "经核实为刷单评价"
        actions = [(e.action, e.actor_id) for e in audit.entries(session, target="review")]
        assert actions == [("review.hide", admin_id)]
