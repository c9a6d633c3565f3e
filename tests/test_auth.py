"""Sign-in, throttling, sessions, tokens and CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.models import AuthToken, Role
from tests import factories as f


def test_passwords_are_argon2id_and_verified(session: Session) -> None:
    account = f.create_account(session)
    assert account.password_hash.startswith("$argon2id$")
    assert f.PASSWORD not in account.password_hash
    assert accounts.authenticate(session, account.phone, f.PASSWORD) is account


def test_token_login_and_logout(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    account = f.create_account(session)
    session.commit()
    response = client.post(
        "/api/v1/auth/token", json={"phone": account.phone, "password": f.PASSWORD}
    )
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json()["phone"] == account.phone
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_expired_token_is_refused(session: Session) -> None:
    account = f.create_account(session)
    issued = accounts.issue_token(session, account, "api")
    assert accounts.resolve_token(session, issued.token, "api") is account
    issued.record.expires_at = utcnow() - timedelta(seconds=1)
    assert accounts.resolve_token(session, issued.token, "api") is None
    # A session cookie value is not an API token, and vice versa.
    assert (
        accounts.resolve_token(
            session, accounts.issue_token(session, account, "session").token, "api"
        )
        is None
    )
    stored = session.query(AuthToken).all()
    assert all(len(t.token_hash) == 64 and t.token_hash != issued.token for t in stored)


def test_failed_logins_lock_the_number_and_survive_the_failing_request(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    account = f.create_account(session)
    session.commit()
    for _ in range(settings.login_max_failures):
        r = client.post(
            "/api/v1/auth/token", json={"phone": account.phone, "password": "wrong password"}
        )
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    locked = client.post(
        "/api/v1/auth/token", json={"phone": account.phone, "password": f.PASSWORD}
    )
    assert locked.status_code == 429
    assert "分钟后再试" in locked.json()["error"]["message"]


def test_unknown_phone_gives_the_same_answer_as_a_wrong_password(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/token", json={"phone": "13911112222", "password": "whatever1"})
    assert r.status_code == 401 and r.json()["error"]["message"] == "手机号或密码不正确"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_browser_sign_in_uses_a_httponly_cookie_and_forms_need_csrf(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township), name="腊肉")
    session.commit()

    # Login without the form's token is refused.
    refused = client.post(
        "/login", data={"phone": staff.phone, "password": f.PASSWORD, "csrf_token": "x"}
    )
    assert refused.status_code == 403

    token = _csrf(client.get("/login").text)
    response = client.post(
        "/login",
        data={"phone": staff.phone, "password": f.PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/coop/products"
    cookie_header = response.headers["set-cookie"]
    assert "HttpOnly" in cookie_header and "samesite=lax" in cookie_header.lower()

    desk = client.get("/coop")
    assert desk.status_code == 200 and "腊肉" in desk.text
    # Cookie-authenticated API writes need the CSRF header.
    no_header = client.post(f"/api/v1/my/products/{product.id}/delist")
    assert no_header.status_code == 403 and no_header.json()["error"]["code"] == "csrf_failed"
    # The desk's form carries the token and works.
    ok = client.post(
        f"/coop/products/{product.id}/delist",
        data={"csrf_token": _csrf(desk.text)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    session.expire_all()
    assert session.get(type(product), product.id).status == "delisted"


def test_csrf_token_is_bound_to_its_session() -> None:
    assert security.csrf_valid("session-a", security.csrf_token_for("session-a"))
    assert not security.csrf_valid("session-b", security.csrf_token_for("session-a"))
    assert not security.csrf_valid("session-a", None)


def test_production_refuses_the_default_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from farmgate.config import Settings

    monkeypatch.setenv("FARMGATE_ENV", "production")
    monkeypatch.delenv("FARMGATE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="FARMGATE_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("FARMGATE_SECRET_KEY", "x" * 48)
    assert Settings().env == "production"
