"""Paid orders and refunds through the WeChat Pay simulator, for the trade-bill tests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import Refund, Role, Sku
from farmgate.payments.simulator import SimulatorServer
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.logistics import run_jobs


def use_simulator(monkeypatch: pytest.MonkeyPatch, sim: SimulatorServer, version: str) -> None:
    """Point the shop's WeChat Pay settings at the simulator, through API ``version``."""
    monkeypatch.setattr(settings, "wechat_pay_version", version)
    monkeypatch.setattr(settings, "wechat_appid", sim.state.appid)
    monkeypatch.setattr(settings, "wechat_mch_id", sim.state.mch_id)
    monkeypatch.setattr(settings, "wechat_api_base", sim.url)
    monkeypatch.setattr(settings, "payment_http_timeout", 2)
    if version == "v2":
        monkeypatch.setattr(settings, "wechat_api_key", sim.state.api_key)
    else:
        v3 = sim.v3_config()
        monkeypatch.setattr(settings, "wechat_apiv3_key", v3["apiv3_key"])
        monkeypatch.setattr(settings, "wechat_private_key", v3["merchant_private_key"])
        monkeypatch.setattr(settings, "wechat_serial_no", v3["merchant_serial_no"])
        monkeypatch.setattr(settings, "wechat_platform_public_key", v3["platform_public_key"])
        monkeypatch.setattr(settings, "wechat_platform_public_key_id", v3["platform_public_key_id"])


def paid_orders(client, session: Session, sim: SimulatorServer, count: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """``count`` orders of one buyer, each paid at the simulator and its notification applied:
    their ids, out_trade_nos and totals, and the buyer's headers."""
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    headers = f.auth_headers(session, f.create_account(session))
    made = []
    for quantity in range(1, count + 1):
        client.post(
            "/api/v1/cart/items", json={"sku_id": sku.id, "quantity": quantity}, headers=headers
        )
        order = client.post("/api/v1/checkout", json=ADDRESS, headers=headers).json()
        intent = client.post(
            f"/api/v1/orders/{order['id']}/pay", json={"channel": "native"}, headers=headers
        ).json()
        sim.pay(intent["out_trade_no"])
        sent = sim.state.deliveries[-1]
        notified = client.post(
            "/api/v1/payments/wechat/notify",
            content=sent.body,
            headers={k: v for k, v in sent.headers.items() if k.lower() != "host"},
        )
        assert notified.status_code in (200, 204), notified.text
        assert run_jobs(session, "payments.apply_notification") == []  # applied already
        made.append(
            {
                "id": order["id"],
                "out_trade_no": intent["out_trade_no"],
                "total": order["total_fen"],
                "headers": headers,
            }
        )
    return made


def refunded(client, session: Session, order: dict[str, Any], amount_fen: int) -> Refund:  # type: ignore[no-untyped-def]
    """A partial refund of ``order`` by the admin, done at the simulator."""
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    answer = client.post(
        f"/api/v1/admin/orders/{order['id']}/refund",
        json={"amount_fen": amount_fen, "reason": "少发"},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    assert run_jobs(session, "payments.refund") == ["done"]
    session.expire_all()
    return session.query(Refund).filter_by(order_id=order["id"]).one()
