"""Sign-in, throttling, sessions, tokens and CSRF."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.models import AuthToken, Role
from tests.support import factories as f
from tests.support.web import csrf_token


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

    token = csrf_token(client.get("/login").text)
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
        data={"csrf_token": csrf_token(desk.text)},
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
    monkeypatch.delenv("FARMGATE_PASSWORD_HASH_COST", raising=False)  # the tests' token cost
    with pytest.raises(ValidationError, match="FARMGATE_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("FARMGATE_SECRET_KEY", "x" * 48)
    assert Settings().env == "production"


def test_production_hashes_passwords_with_argon2id_at_full_strength(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from argon2 import Type, extract_parameters
    from pydantic import ValidationError

    from farmgate.config import Settings
    from farmgate.config import settings as live

    monkeypatch.delenv("FARMGATE_PASSWORD_HASH_COST", raising=False)
    assert Settings(_env_file=None).password_hash_cost == "standard"  # type: ignore[call-arg]
    monkeypatch.setattr(live, "password_hash_cost", "standard")
    params = extract_parameters(security.hash_password("a-long-passphrase"))
    assert params.type is Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    assert security.verify_password(security.hash_password("pw-one-two"), "pw-one-two")
    # The suite's token cost is refused outside tests.
    monkeypatch.setenv("FARMGATE_ENV", "production")
    monkeypatch.setenv("FARMGATE_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("FARMGATE_PASSWORD_HASH_COST", "test")
    with pytest.raises(ValidationError, match="PASSWORD_HASH_COST"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_suite_hashes_at_the_token_cost() -> None:
    from argon2 import extract_parameters

    assert extract_parameters(security.hash_password("x-y-z-w-v")).memory_cost == 8


def test_without_a_key_a_random_one_is_made_once_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from farmgate.config import DEFAULT_SECRET_KEY, Settings

    monkeypatch.delenv("FARMGATE_SECRET_KEY", raising=False)
    monkeypatch.setenv("FARMGATE_ENV", "development")
    monkeypatch.setenv("FARMGATE_DATA_DIR", str(tmp_path / "data"))
    first = Settings()
    kept = tmp_path / "data" / "secret_key"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert len(first.secret_key) >= 32 and first.secret_key != DEFAULT_SECRET_KEY
    assert first.secret_key_warning() is None
    assert Settings().secret_key == first.secret_key == kept.read_text().strip()
    monkeypatch.setenv("FARMGATE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert Settings().secret_key != first.secret_key  # random, not derived from anything
    assert not list((tmp_path / "data").glob(".secret_key*"))  # no temporary file left


def test_production_does_not_fall_back_to_a_kept_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pydantic import ValidationError

    from farmgate.config import Settings

    (tmp_path / "secret_key").write_text("k" * 64)
    monkeypatch.setenv("FARMGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FARMGATE_ENV", "production")
    monkeypatch.setenv("FARMGATE_PASSWORD_HASH_COST", "standard")  # the suite's is refused too
    for weak in (None, "short", "insecure-dev-secret-change-me"):
        if weak is None:
            monkeypatch.delenv("FARMGATE_SECRET_KEY", raising=False)
        else:
            monkeypatch.setenv("FARMGATE_SECRET_KEY", weak)
        with pytest.raises(ValidationError, match="FARMGATE_SECRET_KEY"):
            Settings()


def test_serve_and_the_app_warn_loudly_about_a_weak_key(  # type: ignore[no-untyped-def]
    connection, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys
) -> None:
    import logging

    import uvicorn
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from farmgate import cli, db
    from farmgate.app import create_app
    from farmgate.config import DEFAULT_SECRET_KEY, settings

    monkeypatch.setattr(settings, "secret_key", DEFAULT_SECRET_KEY)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr(db, "check_migrations", lambda engine: None)
    result = CliRunner().invoke(cli.app, ["serve"])
    assert result.exit_code == 0, result.output
    assert "FARMGATE_SECRET_KEY" in result.stderr and "forge" in result.stderr
    with (
        caplog.at_level(logging.WARNING),
        TestClient(create_app(check_schema=False, run_jobs=False)),
    ):
        pass
    assert "FARMGATE_SECRET_KEY" in caplog.text
    assert "FARMGATE_SECRET_KEY" in capsys.readouterr().err
    monkeypatch.setattr(settings, "secret_key", "s" * 48)
    assert "FARMGATE_SECRET_KEY" not in CliRunner().invoke(cli.app, ["serve"]).stderr
