"""The console's today page and review section, through HTML forms (no JavaScript)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.catalog import review
from farmgate.catalog import service as catalog
from farmgate.catalog.schemas import ProductUpdate
from farmgate.cooperatives.service import ensure_public
from farmgate.db import utcnow
from farmgate.errors import NotFound
from farmgate.models import (
    Account,
    Alert,
    Cooperative,
    CooperativeStatus,
    Product,
    ProductStatus,
    Role,
    Township,
)
from tests.support import factories as f
from tests.support.web import csrf_token

MAX_PAGE = 30 * 1024


def _admin(client, session: Session):
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    return admin


def _township(session: Session) -> Township:
    return session.query(Township).first() or f.create_township(session)


def _applied(session: Session, name: str = "高坪茶叶合作社") -> Cooperative:
    return f.create_cooperative(
        session, _township(session), status=CooperativeStatus.PENDING, name=name
    )


def _submitted(session: Session, name: str = "谭家场腊肉") -> tuple[Cooperative, Product]:
    """An approved cooperative's product waiting for the township's review."""
    township = _township(session)
    coop = f.create_cooperative(session, township, name="腊味合作社")
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(
        session, staff, f.first_village(session, township), published=False, name=name
    )
    catalog.submit_for_review(session, staff, product.id)  # type: ignore[arg-type]
    session.flush()
    return coop, product


def _post(client, page_url: str, action: str, data: dict[str, str] | None = None):
    page = client.get(page_url)
    return client.post(action, data={**(data or {}), "csrf_token": csrf_token(page.text)})


# --- today --------------------------------------------------------------------------------


def test_the_admin_lands_on_today_which_counts_each_queue_and_links_it(
    client, session: Session
) -> None:
    admin = f.create_account(session, role=Role.ADMIN)
    _applied(session)
    _submitted(session)
    session.add(Alert(key="x1", kind="excursion", message="温度超标", cooperative_id=None))
    session.add(Alert(key="x2", kind="excursion", message="已处理", read_at=utcnow()))
    session.commit()
    page = client.get("/login")
    landed = client.post(
        "/login",
        data={"phone": admin.phone, "password": f.PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert landed.status_code == 200 and landed.url.path == "/township"
    html = landed.text
    assert len(landed.content) <= MAX_PAGE

    def count(key: str) -> int:
        match = re.search(rf'href="([^"]+)" id="todo-{key}"[^>]*>.*?class="count">(\d+)<', html)
        assert match, key
        return int(match.group(2))

    assert count("cooperatives") == 1 and count("products") == 1 and count("alerts") == 1
    assert count("refunds") == 0 and count("jobs") == 0 and count("recalls") == 0
    for url in ("/township/review/cooperatives", "/township/review/products", "/township/cash"):
        assert f'href="{url}"' in html


# --- authorisation ------------------------------------------------------------------------

ROUTES = [
    ("get", "/township"),
    ("get", "/township/review/cooperatives"),
    ("get", "/township/review/products"),
    ("post", "/township/review/cooperatives/1/approve"),
    ("post", "/township/review/names/1/approve"),
    ("post", "/township/review/products/1/reject"),
]


@pytest.mark.parametrize("role", [Role.COOPERATIVE, Role.COURIER, Role.CONSUMER])
def test_every_other_role_is_refused(client, session: Session, role: Role) -> None:
    coop = f.create_cooperative(session, _township(session))
    account = f.create_account(
        session, role=role, cooperative=coop if role == Role.COOPERATIVE else None
    )
    f.login_browser(client, session, account)
    token = csrf_token(client.get("/login").text)
    for method, url in ROUTES:
        data = {"csrf_token": token, "reason": "x"} if method == "post" else None
        response = client.request(method.upper(), url, data=data)
        assert response.status_code == 403, url
    assert audit.entries(session) == []


def test_a_visitor_signed_out_is_sent_to_sign_in(client) -> None:
    for method, url in ROUTES:
        response = client.request(method.upper(), url, follow_redirects=False)
        assert response.status_code in (303, 401, 403), url
        if method == "get":
            assert response.status_code == 303 and "/login" in response.headers["location"]


# --- cooperatives -------------------------------------------------------------------------


def test_an_application_shows_its_checked_code_and_is_approved_once(
    client, session: Session
) -> None:
    _admin(client, session)
    coop = _applied(session)
    session.commit()
    page = client.get("/township/review/cooperatives")
    assert page.status_code == 200 and len(page.content) <= MAX_PAGE
    assert "高坪茶叶合作社" in page.text and coop.uscc in page.text and "校验位正确" in page.text
    assert coop.contact_phone in page.text

    url = f"/township/review/cooperatives/{coop.id}/approve"
    done = _post(client, "/township/review/cooperatives", url)
    assert done.status_code == 200 and "已批准该合作社" in done.text
    again = _post(client, "/township/review/cooperatives", url)
    assert "已经处理过了" in again.text
    session.refresh(coop)
    assert coop.status == CooperativeStatus.APPROVED and coop.approved_at is not None
    entries = audit.entries(session, target="cooperative", target_id=coop.id)
    assert [(e.action, e.before, e.after) for e in entries] == [
        (
            "cooperative.approve",
            {"status": "pending", "review_note": ""},
            {"status": "approved", "review_note": ""},
        )
    ]


def test_a_rejection_needs_a_reason_shown_on_the_same_page(client, session: Session) -> None:
    _admin(client, session)
    coop = _applied(session)
    session.commit()
    url = f"/township/review/cooperatives/{coop.id}/reject"
    empty = _post(client, "/township/review/cooperatives", url, {"reason": "   "})
    assert empty.status_code == 422
    key = f"reason-{coop.id}"
    assert re.search(rf'<a href="#{key}">请填写不通过原因', empty.text)
    assert re.search(rf'id="{key}-error">请填写不通过原因', empty.text)
    session.refresh(coop)
    assert coop.status == CooperativeStatus.PENDING and audit.entries(session) == []

    said = "营业执照照片看不清，请重新上传"
    done = _post(client, "/township/review/cooperatives", url, {"reason": said})
    assert "已告知申请人" in done.text
    _post(client, "/township/review/cooperatives", url, {"reason": said})
    session.refresh(coop)
    assert (coop.status, coop.review_note) == (CooperativeStatus.REJECTED, said)
    assert len(audit.entries(session, action="cooperative.reject")) == 1
    rejected = client.get("/township/review/cooperatives?status=rejected")
    assert said in rejected.text and "批准入驻" in rejected.text


def test_suspending_stops_sales_and_trace_pages_and_reinstating_restores_them(
    client, session: Session
) -> None:
    _admin(client, session)
    coop, product = _submitted(session)
    catalog.approve(session, f.create_account(session, role=Role.ADMIN), product.id)  # type: ignore[arg-type]
    session.commit()
    assert client.get(f"/api/v1/products/{product.id}").status_code == 200
    page = "/township/review/cooperatives?status=approved"
    url = f"/township/review/cooperatives/{coop.id}/suspend"
    empty = _post(client, page, url, {"reason": ""})
    assert empty.status_code == 422 and "请填写暂停原因" in empty.text
    done = _post(client, page, url, {"reason": "抽检农残超标，待复检"})
    assert "已暂停该合作社" in done.text
    session.refresh(coop)
    assert coop.status == CooperativeStatus.SUSPENDED
    assert client.get(f"/api/v1/products/{product.id}").status_code == 404
    with pytest.raises(NotFound, match="已暂停"):
        ensure_public(session, coop.id)  # type: ignore[arg-type]

    back = _post(client, page, f"/township/review/cooperatives/{coop.id}/reinstate")
    assert "已恢复该合作社" in back.text
    again = _post(client, page, f"/township/review/cooperatives/{coop.id}/reinstate")
    assert "已经处理过了" in again.text
    assert client.get(f"/api/v1/products/{product.id}").status_code == 200
    actions = [e.action for e in audit.entries(session, target="cooperative")]
    assert actions == ["cooperative.reinstate", "cooperative.suspend"]


def test_a_requested_name_is_approved_once(client, session: Session) -> None:
    _admin(client, session)
    coop = f.create_cooperative(session, _township(session), name="旧名合作社")
    coop.pending_name = "新名合作社"
    coop.name_requested_at = utcnow()
    session.commit()
    page = client.get("/township/review/cooperatives")
    assert "旧名合作社" in page.text and "新名合作社" in page.text
    url = f"/township/review/names/{coop.id}/approve"
    done = _post(client, "/township/review/cooperatives", url, {"name": "新名合作社"})
    assert "已同意改名" in done.text
    again = _post(client, "/township/review/cooperatives", url, {"name": "新名合作社"})
    assert "已经处理过了" in again.text
    session.refresh(coop)
    assert (coop.name, coop.pending_name) == ("新名合作社", "")
    assert len(audit.entries(session, action="cooperative.name")) == 1


def test_an_unknown_action_is_not_found(client, session: Session) -> None:
    _admin(client, session)
    coop = _applied(session)
    session.commit()
    response = _post(
        client, "/township/review/cooperatives", f"/township/review/cooperatives/{coop.id}/delete"
    )
    assert response.status_code == 404
    missing = _post(
        client, "/township/review/cooperatives", "/township/review/cooperatives/99999/approve"
    )
    assert missing.status_code == 404


# --- products -----------------------------------------------------------------------------


def test_a_first_submission_is_shown_as_the_buyer_sees_it_and_approved_once(
    client, session: Session
) -> None:
    _admin(client, session)
    _coop, product = _submitted(session)
    session.commit()
    page = client.get("/township/review/products")
    assert page.status_code == 200 and len(page.content) <= MAX_PAGE
    assert "谭家场腊肉" in page.text and "首次提交" in page.text and "¥38.00" in page.text
    url = f"/township/review/products/{product.id}/approve"
    done = _post(client, "/township/review/products", url)
    assert "已批准上架" in done.text and "没有等待审核的商品" in done.text
    assert "已经处理过了" in _post(client, "/township/review/products", url).text
    session.refresh(product)
    assert product.status == ProductStatus.PUBLISHED
    assert product.approved_snapshot and product.approved_snapshot["name"] == "谭家场腊肉"
    assert len(audit.entries(session, action="product.approve")) == 1


def test_a_rejection_reason_reaches_the_desk_and_a_resubmission_shows_what_changed(
    client, session: Session
) -> None:
    _admin(client, session)
    _coop, product = _submitted(session)
    session.commit()
    url = f"/township/review/products/{product.id}/reject"
    empty = _post(client, "/township/review/products", url, {"reason": " "})
    assert empty.status_code == 422
    assert re.search(rf'id="reason-{product.id}-error">请填写退回原因', empty.text)
    session.refresh(product)
    assert product.status == ProductStatus.PENDING_REVIEW

    done = _post(client, "/township/review/products", url, {"reason": "图片太暗，请重拍"})
    assert "已退回" in done.text
    _post(client, "/township/review/products", url, {"reason": "图片太暗，请重拍"})
    assert len(audit.entries(session, action="product.reject")) == 1
    session.refresh(product)
    assert (product.status, product.review_note) == (ProductStatus.DRAFT, "图片太暗，请重拍")

    staff = session.query(Account).filter_by(cooperative_id=product.cooperative_id).one()
    f.login_browser(client, session, staff)
    desk = client.get("/coop/products")
    assert "未通过审核" in desk.text and "图片太暗，请重拍" in desk.text

    # Approved once, then edited and sent back: the reviewer sees the change side by side.
    admin = f.create_account(session, role=Role.ADMIN)
    catalog.submit_for_review(session, staff, product.id)  # type: ignore[arg-type]
    review.approve(session, admin, product.id)  # type: ignore[arg-type]
    catalog.update_product(session, staff, product.id, ProductUpdate(name="谭家场烟熏腊肉"))  # type: ignore[arg-type]
    _admin(client, session)
    page = client.get("/township/review/products")
    assert "首次提交" not in page.text
    assert re.search(r"商品名称</th>\s*<td>谭家场腊肉</td>\s*<td>谭家场烟熏腊肉</td>", page.text)


def test_the_cooperative_reads_why_it_was_turned_down_or_suspended_on_its_desk(
    client, session: Session
) -> None:
    _admin(client, session)
    coop = _applied(session)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    session.commit()
    url = f"/township/review/cooperatives/{coop.id}/reject"
    _post(client, "/township/review/cooperatives", url, {"reason": "缺少成员名册"})
    f.login_browser(client, session, staff)
    desk = client.get("/coop/products")
    assert "乡镇未通过你们的入驻申请" in desk.text and "缺少成员名册" in desk.text


def test_an_edit_made_after_the_reviewer_looked_is_not_approved_unseen(
    client, session: Session
) -> None:
    _admin(client, session)
    _coop, product = _submitted(session)
    session.commit()
    page = client.get("/township/review/products")
    seen = re.search(r'name="seen" value="([^"]+)"', page.text)
    assert seen
    staff = session.query(Account).filter_by(cooperative_id=product.cooperative_id).one()
    catalog.update_product(session, staff, product.id, ProductUpdate(description="改过了"))  # type: ignore[arg-type]
    product.updated_at = product.updated_at + timedelta(seconds=1)
    session.commit()
    url = f"/township/review/products/{product.id}/approve"
    response = client.post(url, data={"seen": seen.group(1), "csrf_token": csrf_token(page.text)})
    assert response.status_code == 409 and "又修改了这个商品" in response.text
    session.refresh(product)
    assert product.status == ProductStatus.PENDING_REVIEW
    assert audit.entries(session, action="product") == []


def test_a_long_queue_shows_a_batch_and_the_page_stays_small(client, session: Session) -> None:
    _admin(client, session)
    for i in range(12):
        _submitted(session, name=f"腊肉{i:02d}号")
    session.commit()
    page = client.get("/township/review/products")
    assert page.status_code == 200 and len(page.content) <= MAX_PAGE
    assert "12 个商品等待审核" in page.text and page.text.count('class="card review-item"') == 10
