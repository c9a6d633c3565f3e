"""Reviews after receipt, on both databases: one per received order line, shown with the lot
the buyer received, reported once per user, hidden and shown again by the township."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.errors import Conflict, NotFound, ValidationFailed
from farmgate.models import ProductReview, ReviewReport, Role
from farmgate.privacy import service as privacy
from farmgate.reviews import service as reviews
from farmgate.reviews import views
from tests.support import desk
from tests.support import factories as f
from tests.support.images import jpeg
from tests.support.reviews import OS, line_of, received_order
from tests.support.web import csrf_token


def _count(session: Session) -> int:
    return session.query(ProductReview).count()


def test_a_buyer_reviews_a_received_line_and_the_product_page_shows_its_lot(
    session: Session, media_dir
) -> None:
    shop = desk.shop(session, lot="TJC2612A")
    buyer = f.create_account(session)
    order = received_order(session, shop, buyer)
    line = line_of(session, order)

    review = reviews.write_review(
        session,
        buyer,
        order.number,
        line.id,  # type: ignore[arg-type]
        stars="4",
        body="  辣味正，晒得很干  ",
        files=[("chilli.jpg", jpeg())],
    )

    assert (review.stars, review.body, review.batch_id) == (4, "辣味正，晒得很干", shop.lot.id)
    (photo,) = review.photos
    assert list(media_dir.glob(f"{photo['key']}-*.webp"))  # the WebP variants were written
    summary = views.summary(session, shop.product.id)  # type: ignore[arg-type]
    assert (summary.count, summary.average) == (1, 4.0)
    (shown,) = summary.latest
    assert shown.lot_code == "TJC2612A"
    assert shown.buyer == buyer.phone[:3] + "****" + buyer.phone[-4:]
    assert shown.photos[0].thumb.endswith(".webp")
    # The buyer's data export carries it.
    exported = privacy.export(session, buyer)["reviews"]
    assert [(r["stars"], r["body"], r["photos"]) for r in exported] == [(4, "辣味正，晒得很干", 1)]


@pytest.mark.parametrize("until", [OS.PAID, OS.SHIPPED, OS.DELIVERED])
def test_a_line_not_received_cannot_be_reviewed(session: Session, until: OS) -> None:
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = desk.order(session, shop.sku, buyer=buyer)
    if until != OS.PAID:
        order = received_order(session, shop, buyer, until=until)
    line = line_of(session, order)
    with pytest.raises(Conflict) as refused:
        reviews.write_review(session, buyer, order.number, line.id, stars="5", body="好")  # type: ignore[arg-type]
    assert refused.value.message == reviews.NOT_RECEIVED
    assert _count(session) == 0


def test_someone_elses_order_line_is_not_found(session: Session) -> None:
    shop = desk.shop(session)
    order = received_order(session, shop, f.create_account(session))
    other_order = received_order(session, shop, f.create_account(session))
    stranger = f.create_account(session)
    line = line_of(session, order)
    with pytest.raises(NotFound):
        reviews.write_review(session, stranger, order.number, line.id, stars="5", body="")  # type: ignore[arg-type]
    # A line of another order, named under the buyer's own order number, is not found either.
    owner = session.get(type(stranger), order.account_id)
    with pytest.raises(NotFound):
        reviews.write_review(
            session,
            owner,  # type: ignore[arg-type]
            order.number,
            line_of(session, other_order).id,  # type: ignore[arg-type]
            stars="5",
            body="",
        )
    assert _count(session) == 0


def test_one_review_per_order_line(session: Session) -> None:
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = received_order(session, shop, buyer)
    line_id = line_of(session, order).id
    reviews.write_review(session, buyer, order.number, line_id, stars="5", body="第一次")  # type: ignore[arg-type]
    with pytest.raises(Conflict) as refused:
        reviews.write_review(session, buyer, order.number, line_id, stars="1", body="第二次")  # type: ignore[arg-type]
    assert refused.value.code == "already_reviewed"
    assert [r.body for r in session.query(ProductReview)] == ["第一次"]


@pytest.mark.parametrize(
    ("stars", "body", "files", "field"),
    [
        ("0", "", [], "stars"),
        ("6", "", [], "stars"),
        ("", "", [], "stars"),
        ("五", "", [], "stars"),
        ("5", "字" * 501, [], "body"),
        ("5", "", [("notes.txt", b"not a picture at all")], "photos"),
        ("5", "", [("a.jpg", jpeg())] * 4, "photos"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    session: Session, media_dir, stars: str, body: str, files: list, field: str
) -> None:
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = received_order(session, shop, buyer)
    line_id = line_of(session, order).id
    with pytest.raises(ValidationFailed) as refused:
        reviews.write_review(
            session,
            buyer,
            order.number,
            line_id,  # type: ignore[arg-type]
            stars=stars,
            body=body,
            files=files,
        )
    assert field in refused.value.fields
    assert _count(session) == 0
    assert not list(media_dir.rglob("*.webp"))  # a photo is stored only with its review


def _reviewed(session: Session, stars: str = "2") -> tuple[desk.Shop, ProductReview]:
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = received_order(session, shop, buyer)
    review = reviews.write_review(
        session,
        buyer,
        order.number,
        line_of(session, order).id,  # type: ignore[arg-type]
        stars=stars,
        body="加我微信买更便宜",
    )
    return shop, review


def test_reports_are_one_per_user_and_never_of_ones_own_review(session: Session) -> None:
    _, review = _reviewed(session)
    neighbour = f.create_account(session)
    reviews.report(session, neighbour, review.id, "ad")  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        reviews.report(session, neighbour, review.id, "fake")  # type: ignore[arg-type]
    author = session.get(type(neighbour), review.account_id)
    with pytest.raises(Conflict):
        reviews.report(session, author, review.id, "ad")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as no_reason:
        reviews.report(session, f.create_account(session), review.id, "boring")  # type: ignore[arg-type]
    assert "reason" in no_reason.value.fields
    with pytest.raises(ValidationFailed) as other_needs_note:
        reviews.report(session, f.create_account(session), review.id, "other", " ")  # type: ignore[arg-type]
    assert "note" in other_needs_note.value.fields
    session.refresh(review)
    assert review.report_count == 1
    assert session.query(ReviewReport).count() == 1
    rows, _, counts = views.queue(session, "reported", 1)
    assert [r.id for r in rows] == [review.id] and counts["reported"] == 1


def test_the_township_hides_a_review_and_shows_it_again_with_notes_in_the_audit_log(
    session: Session,
) -> None:
    shop, review = _reviewed(session, stars="1")
    product_id = shop.product.id
    admin = f.create_account(session, role=Role.ADMIN)
    reviews.report(session, f.create_account(session), review.id, "ad")  # type: ignore[arg-type]

    with pytest.raises(ValidationFailed):
        reviews.moderate(session, admin, review.id, "hide", "  ")  # type: ignore[arg-type]
    assert reviews.moderate(session, admin, review.id, "hide", "站外引流广告")  # type: ignore[arg-type]
    assert not reviews.moderate(session, admin, review.id, "hide", "again")  # type: ignore[arg-type]
    summary = views.summary(session, product_id)  # type: ignore[arg-type]
    assert (summary.count, summary.average, summary.latest) == (0, None, [])
    assert views.page_of(session, product_id, 1) == ([], 1)  # type: ignore[arg-type]
    assert views.queue(session, "reported", 1)[2] == {"reported": 0, "recent": 0, "hidden": 1}
    with pytest.raises(NotFound):  # a hidden review cannot be reported any more
        reviews.report(session, f.create_account(session), review.id, "ad")  # type: ignore[arg-type]

    assert reviews.moderate(session, admin, review.id, "unhide", "误判，恢复")  # type: ignore[arg-type]
    assert views.summary(session, product_id).count == 1  # type: ignore[arg-type]
    # Its report was decided: it is not back in the reported queue.
    assert views.queue(session, "reported", 1)[2]["reported"] == 0
    entries = audit.entries(session, target="review", target_id=review.id)
    assert [(e.action, e.actor_id) for e in entries] == [
        ("review.unhide", admin.id),
        ("review.hide", admin.id),
    ]
    assert entries[1].after == {
        "hidden": True,
        "report_count": 1,
        "reports_seen": 1,
        "note": "站外引流广告",
    }


def test_keeping_a_reported_review_clears_it_from_the_queue(session: Session) -> None:
    _, review = _reviewed(session)
    admin = f.create_account(session, role=Role.ADMIN)
    reviews.report(session, f.create_account(session), review.id, "fake")  # type: ignore[arg-type]
    assert reviews.moderate(session, admin, review.id, "keep", "是真实购买的评价")  # type: ignore[arg-type]
    assert not reviews.moderate(session, admin, review.id, "keep", "again")  # type: ignore[arg-type]
    assert views.queue(session, "reported", 1)[2]["reported"] == 0
    reviews.report(session, f.create_account(session), review.id, "abuse")  # type: ignore[arg-type]
    assert views.queue(session, "reported", 1)[2]["reported"] == 1  # a new report: back again


def test_the_average_and_the_pages(session: Session) -> None:
    shop = desk.shop(session)
    shop.sku.stock = 100  # twelve orders of two
    session.add(shop.sku)
    for stars in ["5", "4", "4"] + ["3"] * 9:
        buyer = f.create_account(session)
        order = received_order(session, shop, buyer)
        reviews.write_review(
            session,
            buyer,
            order.number,
            line_of(session, order).id,  # type: ignore[arg-type]
            stars=stars,
            body="",
        )
    product_id = shop.product.id
    summary = views.summary(session, product_id)  # type: ignore[arg-type]
    assert (summary.count, summary.average, len(summary.latest)) == (12, 3.3, 3)
    first, pages = views.page_of(session, product_id, 1)  # type: ignore[arg-type]
    second, _ = views.page_of(session, product_id, 2)  # type: ignore[arg-type]
    assert (len(first), len(second), pages) == (10, 2, 2)
    assert [r.stars for r in second] == [4, 5]  # newest first: the oldest are last
    assert views.page_of(session, product_id, 99)[0] == second  # type: ignore[arg-type]


# --- the pages --------------------------------------------------------------------------


def _form_url(number: str, line_id: int) -> str:
    return f"/orders/{number}/lines/{line_id}/review"


def test_pages_write_show_report_and_hide(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    shop = desk.shop(session, lot="TJC2612A")
    buyer = f.create_account(session)
    order = received_order(session, shop, buyer)
    line_id = line_of(session, order).id
    url = _form_url(order.number, line_id)  # type: ignore[arg-type]
    product_id = shop.product.id
    session.commit()

    f.login_browser(client, session, buyer)
    order_page = client.get(f"/orders/{order.number}")
    assert f'href="{url}"' in order_page.text
    form = client.get(url)
    assert form.status_code == 200 and "发布评价" in form.text and "已购 批次 TJC2612A" in form.text
    token = csrf_token(form.text)

    # Stars out of range: the same page, the message beside the field, the text kept.
    bad = client.post(url, data={"csrf_token": token, "stars": "9", "body": "很香"})
    assert bad.status_code == 422
    assert "请选择 1 到 5 颗星" in bad.text and "很香" in bad.text
    # Not a picture: refused the same way.
    not_image = client.post(
        url,
        data={"csrf_token": token, "stars": "5", "body": "很香"},
        files={"photos": ("menu.txt", b"hello", "image/jpeg")},
    )
    assert not_image.status_code == 422 and "文件不是有效的图片" in not_image.text
    session.expire_all()
    assert _count(session) == 0

    posted = client.post(
        url,
        data={"csrf_token": token, "stars": "5", "body": "很香，辣得过瘾"},
        files={"photos": ("chilli.jpg", jpeg(), "image/jpeg")},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and posted.headers["location"] == url + "?done=1"
    done = client.get(url + "?done=1")
    assert "评价已发布" in done.text and "发布后不能修改" in done.text
    assert 'name="stars"' not in done.text  # no second form

    again = client.post(url, data={"csrf_token": token, "stars": "1", "body": "再来一次"})
    assert again.status_code == 409 and reviews.ALREADY_REVIEWED in again.text

    product = client.get(f"/products/{product_id}")
    assert "已购 批次 TJC2612A" in product.text and "很香，辣得过瘾" in product.text
    assert "5.0" in product.text and "1 条评价" in product.text
    assert buyer.phone[:3] + "****" + buyer.phone[-4:] in product.text
    assert buyer.phone not in product.text
    listing = client.get(f"/products/{product_id}/reviews")
    assert listing.status_code == 200 and "很香，辣得过瘾" in listing.text
    review = session.query(ProductReview).one()

    # Someone else reports it.
    neighbour = f.create_account(session)
    f.login_browser(client, session, neighbour)
    report_url = f"/reviews/{review.id}/report"
    report_form = client.get(report_url)
    token = csrf_token(report_form.text)
    no_reason = client.post(report_url, data={"csrf_token": token, "note": ""})
    assert no_reason.status_code == 422 and "请选择举报原因" in no_reason.text
    reported = client.post(
        report_url, data={"csrf_token": token, "reason": "fake"}, follow_redirects=False
    )
    assert reported.status_code == 303
    twice = client.post(report_url, data={"csrf_token": token, "reason": "abuse"})
    assert twice.status_code == 409 and "已经举报过" in twice.text
    # Someone else's order line: not found, nothing shown.
    assert client.get(url).status_code == 404

    # The admin hides it from the console's queue.
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    queue = client.get("/township/reviews")
    assert queue.status_code == 200 and "很香，辣得过瘾" in queue.text
    assert "被举报 1 次" in queue.text
    token = csrf_token(queue.text)
    hide = f"/township/reviews/{review.id}/hide"
    no_note = client.post(hide, data={"csrf_token": token, "note": ""})
    assert no_note.status_code == 422 and "请写明原因" in no_note.text
    hidden = client.post(hide, data={"csrf_token": token, "note": "经核实为刷单"})
    assert hidden.status_code == 200 and "已隐藏这条评价" in hidden.text
    assert "很香，辣得过瘾" not in client.get(f"/products/{product_id}").text
    assert "还没有评价" in client.get(f"/products/{product_id}/reviews").text
    # Odd query strings are read leniently, never a 422 or 500 page.
    assert client.get("/township/reviews?show=nope&page=x").status_code == 200
    assert client.get(f"/products/{product_id}/reviews?page=-3").status_code == 200
    assert client.get("/products/999999/reviews").status_code == 404
    # The admin reading the order sees no review link: only its buyer may write one.
    assert f'href="{url}"' not in client.get(f"/orders/{order.number}").text
    assert client.get(report_url).status_code == 404


def test_pages_refuse_a_line_not_received_and_need_a_sign_in(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    shop = desk.shop(session)
    buyer = f.create_account(session)
    order = received_order(session, shop, buyer, until=OS.DELIVERED)
    url = _form_url(order.number, line_of(session, order).id)  # type: ignore[arg-type]
    session.commit()

    signed_out = client.get(url, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    f.login_browser(client, session, buyer)
    assert f'href="{url}"' not in client.get(f"/orders/{order.number}").text
    page = client.get(url)
    assert page.status_code == 200 and "确认收货后" in page.text and 'name="stars"' not in page.text
    posted = client.post(url, data={"csrf_token": csrf_token(page.text), "stars": "5"})
    assert posted.status_code == 409 and reviews.NOT_RECEIVED in posted.text
    session.expire_all()
    assert _count(session) == 0
    assert client.get(_form_url(order.number, 999999)).status_code == 404


def test_an_erased_account_s_review_names_no_one(session: Session) -> None:
    shop, review = _reviewed(session)
    author = session.get(type(shop.owner), review.account_id)
    privacy.erase(session, author, f.PASSWORD)  # type: ignore[arg-type]
    (shown,) = views.summary(session, shop.product.id).latest  # type: ignore[arg-type]
    assert shown.buyer == "买家" and shown.body == review.body
