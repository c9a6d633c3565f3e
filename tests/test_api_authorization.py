"""Authorisation across two cooperatives, through the JSON API, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.models import Product, ProductStatus, Role, Sku
from tests.support import factories as f


@pytest.fixture
def two_coops(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    village = f.first_village(session, township)
    coop_a = f.create_cooperative(session, township, name="甲合作社")
    coop_b = f.create_cooperative(session, township, name="乙合作社")
    staff_a = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop_a)
    staff_b = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop_b)
    product_b = f.create_product(session, staff_b, village, name="乙的辣椒")
    sku_b = session.query(Sku).filter_by(product_id=product_b.id).one()
    session.commit()
    return {
        "village": village,
        "a": f.auth_headers(session, staff_a),
        "b": f.auth_headers(session, staff_b),
        "product_b": product_b.id,
        "sku_b": sku_b.id,
    }


def test_staff_cannot_touch_another_cooperatives_product(
    client, session: Session, two_coops
) -> None:  # type: ignore[no-untyped-def]
    a, pid, sid = two_coops["a"], two_coops["product_b"], two_coops["sku_b"]
    attempts = [
        client.get(f"/api/v1/my/products/{pid}", headers=a),
        client.patch(f"/api/v1/my/products/{pid}", json={"name": "偷改"}, headers=a),
        client.post(f"/api/v1/my/products/{pid}/delist", headers=a),
        client.post(
            f"/api/v1/my/products/{pid}/skus",
            json={"spec": "x", "price_fen": 1, "stock": 1, "weight_g": 1},
            headers=a,
        ),
        client.patch(f"/api/v1/my/products/{pid}/skus/{sid}", json={"price_fen": 1}, headers=a),
        client.post(
            f"/api/v1/my/products/{pid}/photos",
            files={"file": ("a.png", b"x", "image/png")},
            headers=a,
        ),
    ]
    for response in attempts:
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"

    session.expire_all()
    product = session.get(Product, pid)
    sku = session.get(Sku, sid)
    assert product.name == "乙的辣椒"
    assert product.status == ProductStatus.PUBLISHED
    assert sku.price_fen == 3800 and session.query(Sku).filter_by(product_id=pid).count() == 1
    # The owner still can.
    response = client.patch(
        f"/api/v1/my/products/{pid}/skus/{sid}", json={"stock": 7}, headers=two_coops["b"]
    )
    assert response.status_code == 200 and response.json()["stock"] == 7


def test_own_product_list_shows_only_own_products(client, two_coops) -> None:  # type: ignore[no-untyped-def]
    created = client.post(
        "/api/v1/my/products",
        json={
            "name": "甲的大米",
            "category": "grain_oil",
            "village_id": two_coops["village"].id,
            "unit": "袋",
            "shelf_life_days": 365,
            "skus": [{"spec": "5kg", "price_fen": 6800, "stock": 3, "weight_g": 5100}],
        },
        headers=two_coops["a"],
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    names = [p["name"] for p in client.get("/api/v1/my/products", headers=two_coops["a"]).json()]
    assert names == ["甲的大米"]


def test_roles_are_enforced(client, session: Session, two_coops) -> None:  # type: ignore[no-untyped-def]
    consumer = f.auth_headers(session, f.create_account(session))
    assert client.get("/api/v1/my/products", headers=consumer).status_code == 403
    assert client.get("/api/v1/admin/review-queue", headers=two_coops["a"]).status_code == 403
    assert (
        client.post(
            f"/api/v1/admin/products/{two_coops['product_b']}/delist", headers=two_coops["a"]
        ).status_code
        == 403
    )
    anonymous = client.get("/api/v1/my/products")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    bad_token = client.get("/api/v1/my/products", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401


def test_public_never_sees_drafts_or_private_details(client, session: Session, two_coops) -> None:  # type: ignore[no-untyped-def]
    draft = client.post(
        "/api/v1/my/products",
        json={
            "name": "草稿",
            "category": "other",
            "village_id": two_coops["village"].id,
            "unit": "件",
            "shelf_life_days": 10,
        },
        headers=two_coops["a"],
    ).json()
    assert client.get(f"/api/v1/products/{draft['id']}").status_code == 404
    listing = client.get("/api/v1/products").json()
    assert [p["name"] for p in listing["items"]] == ["乙的辣椒"]
    coops = client.get("/api/v1/cooperatives").json()
    assert coops and all(
        "bank_account_no" not in c and "uscc" not in c and "contact_phone" not in c for c in coops
    )
    mine = client.get("/api/v1/my/cooperative", headers=two_coops["a"]).json()
    assert mine["bank_account_no_masked"].endswith("3445") and mine[
        "bank_account_no_masked"
    ].startswith("*")


def test_review_flow_through_the_api(client, session: Session, two_coops) -> None:  # type: ignore[no-untyped-def]
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    a = two_coops["a"]
    pid = client.post(
        "/api/v1/my/products",
        json={
            "name": "甲的茶油",
            "category": "grain_oil",
            "village_id": two_coops["village"].id,
            "unit": "瓶",
            "shelf_life_days": 540,
            "skus": [{"spec": "500ml", "price_fen": 8800, "stock": 5, "weight_g": 700}],
        },
        headers=a,
    ).json()["id"]
    assert (
        client.post(f"/api/v1/my/products/{pid}/submit", headers=a).json()["status"]
        == "pending_review"
    )
    queue = client.get("/api/v1/admin/review-queue", headers=admin).json()
    assert [p["id"] for p in queue] == [pid]
    rejected = client.post(
        f"/api/v1/admin/products/{pid}/reject", json={"note": "请补充图片"}, headers=admin
    )
    assert rejected.json()["status"] == "draft" and rejected.json()["review_note"] == "请补充图片"
    client.post(f"/api/v1/my/products/{pid}/submit", headers=a)
    assert (
        client.post(f"/api/v1/admin/products/{pid}/approve", headers=admin).json()["status"]
        == "published"
    )
    assert client.get(f"/api/v1/products/{pid}").json()["skus"][0]["price_fen"] == 8800
    again = client.post(f"/api/v1/admin/products/{pid}/approve", headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
