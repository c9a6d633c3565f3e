"""Bad input is a 4xx in one stable JSON shape, never a 500."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.models import Role
from tests.support import factories as f


def _shape(response) -> dict:  # type: ignore[no-untyped-def, type-arg]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]  # type: ignore[no-any-return]


def test_validation_errors_are_chinese_and_name_the_fields(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    headers = f.auth_headers(
        session, f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    )
    response = client.post(
        "/api/v1/my/products",
        json={
            "name": "",
            "category": "nope",
            "village_id": 1,
            "unit": "吨",
            "shelf_life_days": 0,
            "skus": [{"spec": "a", "price_fen": 0, "stock": -1, "weight_g": 1}],
        },
        headers=headers,
    )
    assert response.status_code == 422
    error = _shape(response)
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) >= {
        "name",
        "category",
        "unit",
        "shelf_life_days",
        "skus.0.price_fen",
        "skus.0.stock",
    }
    assert "类目无效" in error["fields"]["category"]
    assert error["fields"]["shelf_life_days"] == "不能小于1"


def test_malformed_bodies_and_unknown_routes(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    cases = [
        client.post(
            "/api/v1/auth/token", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        client.post("/api/v1/auth/token", json=[1, 2]),
        client.get("/api/v1/products/abc"),
        client.get("/api/v1/products?sort=cheapest"),
        client.get("/api/v1/products?price_min_fen=500&price_max_fen=100"),
        client.get("/api/v1/nowhere"),
        client.delete("/api/v1/products"),
        client.post("/api/v1/auth/register", json={"phone": "12345", "password": "short"}),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        _shape(response)


def test_register_without_a_valid_code_is_refused_alike(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    # Registration needs an SMS code (tests/test_sms_accounts.py); without a good one the
    # answer is the same whether or not the number is taken, so it tells nobody which.
    taken = f.create_account(session)
    session.commit()
    answers = [
        client.post(
            "/api/v1/auth/register",
            json={"phone": phone, "code": "123456", "password": "long enough 1"},
        )
        for phone in (taken.phone, "13712345678")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert _shape(answers[0]) == _shape(answers[1])
    assert _shape(answers[0])["code"] == "code_invalid"
