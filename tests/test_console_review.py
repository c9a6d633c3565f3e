"""The console's today page and review section, through HTML forms (no JavaScript)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.catalog import service as catalog
from farmgate.models import (
    Alert,
    Cooperative,
    CooperativeStatus,
    Product,
    Role,
    Township,
)
from tests.support import factories as f
from tests.support.web import csrf_token

MAX_PAGE = 30 * 1024


def _admin(client, session: Session):  # type: ignore[no-untyped-def]
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


def _post(client, page_url: str, action: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    page = client.get(page_url)
    return client.post(action, data={**(data or {}), "csrf_token": csrf_token(page.text)})


# --- today --------------------------------------------------------------------------------


def test_the_admin_lands_on_today_which_counts_each_queue_and_links_it(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    admin = f.create_account(session, role=Role.ADMIN)
    _applied(session)
    _submitted(session)
    session.add(Alert(key="x1", kind="excursion", message="温度超标", cooperative_id=None))
    session.add(Alert(key="x2", kind="excursion", message="已处理", read_at=f.utcnow()))
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
def test_every_other_role_is_refused(client, session: Session, role: Role) -> None:  # type: ignore[no-untyped-def]
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


def test_a_visitor_signed_out_is_sent_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    for method, url in ROUTES:
        response = client.request(method.upper(), url, follow_redirects=False)
        assert response.status_code in (303, 401, 403), url
        if method == "get":
            assert response.status_code == 303 and "/login" in response.headers["location"]
