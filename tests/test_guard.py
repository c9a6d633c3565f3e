"""Security headers on every answer, request size limits, and rate limits (memory and Redis)."""

from __future__ import annotations

import pytest
import redis

from farmgate.config import settings
from farmgate.ops import ratelimit
from tests.support.live import REDIS_URL


def test_pages_and_api_answers_carry_the_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/api/v1/categories", "/nowhere", "/healthz"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in headers  # plain HTTP: no HSTS
    secure = client.get("https://testserver/healthz").headers
    assert secure["strict-transport-security"].startswith("max-age=")


def test_pages_have_no_inline_scripts_or_styles(client) -> None:  # type: ignore[no-untyped-def]
    import re

    html = client.get("/").text + client.get("/login").text + client.get("/search?q=x").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "style=" not in html and "<style" not in html


def test_a_body_over_the_limit_is_refused_before_it_is_read(  # type: ignore[no-untyped-def]
    client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "max_request_bytes", 2048)
    answer = client.post(
        "/api/v1/auth/token",
        content=b"x" * 4096,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_sign_in_attempts_are_limited_per_address(  # type: ignore[no-untyped-def]
    client, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    monkeypatch.setattr(settings, "rate_limits", True)
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())
    monkeypatch.setattr(ratelimit, "WINDOW", 3600)  # no minute boundary inside the test
    if store == "redis":
        monkeypatch.setattr(settings, "redis_url", REDIS_URL)
        monkeypatch.setattr(settings, "queue_prefix", "fgtest-guard")
        redis.Redis.from_url(REDIS_URL).delete(
            *redis.Redis.from_url(REDIS_URL).keys("fgtest-guard:rl:*") or ["none"]
        )
    else:
        monkeypatch.setattr(settings, "redis_url", None)
    limit = next(r for r in ratelimit.RULES if r.name == "login").per_ip
    # A different number each time: the per-number lockout (5 failures) is another guard.
    answers = [
        client.post(
            "/api/v1/auth/token", json={"phone": f"1390000{i:04d}", "password": "wrong-password"}
        ).status_code
        for i in range(limit)
    ]
    assert 429 not in answers
    refused = client.post(
        "/api/v1/auth/token", json={"phone": "13911110000", "password": "wrong-password"}
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert client.get("/api/v1/categories").status_code == 200  # other doors stay open
    if store == "redis":
        assert redis.Redis.from_url(REDIS_URL).keys("fgtest-guard:rl:login:*")


def test_checkout_is_limited_per_session_too(client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "rate_limits", True)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())
    monkeypatch.setattr(ratelimit, "WINDOW", 3600)
    rule = next(r for r in ratelimit.RULES if r.name == "checkout")
    mine = {"Authorization": "Bearer one-session-token"}
    codes = [
        client.post("/api/v1/checkout", json={}, headers=mine).status_code
        for _ in range(rule.per_client + 1)
    ]
    assert codes[-1] == 429 and 429 not in codes[:-1]
    other = {"Authorization": "Bearer another-session"}
    assert client.post("/api/v1/checkout", json={}, headers=other).status_code != 429


@pytest.mark.parametrize("path", ["/api/v1/orders/lookup", "/my-orders"])
def test_guest_order_lookup_is_limited_per_address(  # type: ignore[no-untyped-def]
    client, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # Order number + phone answers a name and an address: guessing must be slow.
    monkeypatch.setattr(settings, "rate_limits", True)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())
    monkeypatch.setattr(ratelimit, "WINDOW", 3600)
    rule = ratelimit.rule_for("POST", path)
    assert rule is not None and rule.name == "order_lookup" and rule.per_ip <= 20

    def attempt(i: int) -> int:
        body = {"number": f"FG2026{i:08d}", "phone": "13900000000"}
        if path.startswith("/api/"):
            return client.post(path, json=body).status_code
        return client.post(path, data=body).status_code

    answers = [attempt(i) for i in range(rule.per_ip)]
    assert 429 not in answers
    refused = client.post("/api/v1/orders/lookup", json={"number": "x", "phone": "13900000000"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert client.get("/my-orders").status_code != 429  # reading the form is not an attempt


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_gets_the_json_error_or_the_error_page(  # type: ignore[no-untyped-def]
    connection, monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    from fastapi.testclient import TestClient

    from farmgate.app import create_app

    # The limit as the app is built with it (production's case), not changed afterwards.
    monkeypatch.setattr(settings, "max_request_bytes", 2048)
    client = TestClient(create_app(check_schema=False, run_jobs=False))

    def body():  # type: ignore[no-untyped-def]
        if not chunked:
            return b"x" * 4096
        return (b"x" * 1024 for _ in range(4))  # no Content-Length: sent in chunks

    api = client.post(
        "/api/v1/auth/token", content=body(), headers={"content-type": "application/json"}
    )
    assert api.status_code == 413
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["error"]["code"] == "too_large"
    page = client.post(
        "/login", content=body(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert "请求内容过大" in page.text and "<html" in page.text
    small = client.post("/api/v1/auth/token", json={"phone": "1", "password": "x"})
    assert small.status_code in (401, 422)  # under the limit: read as usual


@pytest.mark.parametrize("path", ["/api/v1/boom", "/boom"])
def test_an_unexpected_error_answer_carries_the_security_headers(  # type: ignore[no-untyped-def]
    connection, path: str
) -> None:
    from fastapi.testclient import TestClient

    from farmgate.app import create_app

    app = create_app(check_schema=False, run_jobs=False)

    @app.get(path)
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as c:
        for url in (f"http://testserver{path}", f"https://testserver{path}"):
            answer = c.get(url)
            assert answer.status_code == 500
            assert "a bug" not in answer.text
            assert "script-src 'self'" in answer.headers["content-security-policy"]
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
