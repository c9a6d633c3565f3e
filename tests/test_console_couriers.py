"""The township console's courier accounts: created with a first password shown once,
assigned to villages, deactivated (no more sign-in)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.models import Account, CourierVillage, Role, Village
from tests.support import factories as f
from tests.support.web import csrf_token


def _admin(client, session: Session) -> Account:  # type: ignore[no-untyped-def]
    f.create_township(session)
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    return admin


def _sign_in(client, phone: str, password: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token})


@pytest.mark.parametrize("role", [Role.CONSUMER, Role.COOPERATIVE, Role.COURIER, None])
def test_courier_pages_refuse_anyone_but_the_admin(client, session: Session, role) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    courier = f.create_account(session, role=Role.COURIER)
    if role is not None:
        coop = f.create_cooperative(session, township) if role == Role.COOPERATIVE else None
        f.login_browser(client, session, f.create_account(session, role=role, cooperative=coop))
    session.commit()
    token = csrf_token(client.get("/login").text)
    for url in ("/township/couriers", f"/township/couriers/{courier.id}"):
        page = client.get(url)
        assert (page.url.path == "/login") if role is None else page.status_code == 403, url
    data = {"csrf_token": token, "phone": "13912345678", "display_name": "王五"}
    for url in (
        "/township/couriers",
        f"/township/couriers/{courier.id}/deactivate",
        f"/township/couriers/{courier.id}/villages",
    ):
        sent = client.post(url, data=data)
        assert sent.status_code in (401, 403) or sent.url.path == "/login", url
    session.expire_all()
    assert session.get(Account, courier.id).is_active  # type: ignore[union-attr]
    assert session.query(Account).filter_by(phone="13912345678").count() == 0
    assert audit.entries(session) == []


@pytest.mark.parametrize(
    ("field", "data", "message"),
    [
        ("phone", {"phone": "1391234", "display_name": "王五"}, "请输入11位中国大陆手机号码"),
        ("display_name", {"phone": "13912345678", "display_name": " "}, "请填写配送员的姓名"),
    ],
)
def test_bad_input_is_shown_on_the_same_page_and_changes_nothing(
    client, session: Session, field: str, data: dict[str, str], message: str
) -> None:  # type: ignore[no-untyped-def]
    _admin(client, session)
    token = csrf_token(client.get("/township/couriers").text)
    sent = client.post("/township/couriers", data={**data, "csrf_token": token})
    assert sent.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{message}', sent.text)
    assert f'<a href="#{field}">' in sent.text
    assert f'value="{data["phone"]}"' in sent.text  # what was typed is kept
    session.expire_all()
    assert session.query(Account).filter_by(role=Role.COURIER).count() == 0


def test_a_courier_is_created_assigned_and_deactivated(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _admin(client, session)
    page = client.get("/township/couriers")
    assert page.status_code == 200 and len(page.content) <= 30_000
    token = csrf_token(page.text)
    data = {"phone": "139 1234 5678", "display_name": "王五", "csrf_token": token}
    created = client.post("/township/couriers", data=data)
    assert created.status_code == 200 and "只显示这一次" in created.text
    password = re.search(r'class="console-secret">([a-z0-9]+)<', created.text)
    assert password is not None
    again = client.post("/township/couriers", data=data)  # sent twice: one account
    assert again.status_code == 422 and "已经有账号" in again.text
    session.expire_all()
    courier = session.query(Account).filter_by(phone="13912345678").one()
    assert courier.role == Role.COURIER and courier.display_name == "王五"

    url = f"/township/couriers/{courier.id}"
    detail = client.get(url)
    assert len(detail.content) <= 30_000
    village_ids = [v.id for v in session.query(Village).order_by(Village.id)]
    picked = {"village": [str(i) for i in village_ids], "csrf_token": token}
    for _ in range(2):
        saved = client.post(f"{url}/villages", data=picked)
    assert "负责的村没有变化" in saved.text
    bad = client.post(f"{url}/villages", data={"village": "999999", "csrf_token": token})
    assert bad.status_code == 422 and "请从列表中选择村" in bad.text
    session.expire_all()
    links = session.query(CourierVillage).filter_by(account_id=courier.id).all()
    assert sorted(v.village_id for v in links) == village_ids
    assert len(audit.entries(session, action="courier.villages")) == 1
    assert "谭家场" in client.get("/township/couriers").text

    admin_cookies = dict(client.cookies)
    signed_in = _sign_in(client, courier.phone, password.group(1))
    assert signed_in.status_code == 200 and signed_in.url.path != "/login"
    client.cookies.clear()
    client.cookies.update(admin_cookies)
    confirm = client.get(f"{url}/deactivate")
    assert "确认停用" in confirm.text
    for _ in range(2):
        done = client.post(f"{url}/deactivate", data={"csrf_token": token})
    assert "之前已停用" in done.text
    session.expire_all()
    assert not session.get(Account, courier.id).is_active  # type: ignore[union-attr]
    assert len(audit.entries(session, action="courier.deactivate")) == 1
    assert len(audit.entries(session, action="courier.create")) == 1
    refused = _sign_in(client, courier.phone, password.group(1))
    assert refused.url.path == "/login"
