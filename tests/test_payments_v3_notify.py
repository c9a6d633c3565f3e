"""WeChat Pay v3 notifications cannot make the shop call the gateway: platform certificates
are downloaded at start-up and by a periodic job only; the endpoint is rate and size limited."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.ops import ratelimit
from farmgate.payments import providers
from farmgate.payments.simulator import SimulatorServer, start_simulator
from farmgate.payments.simulator.state import SimOrder, self_signed_certificate
from farmgate.payments.simulator.v3 import notification
from farmgate.payments.tasks import refresh_platform_certificates
from farmgate.payments.wechat_v3 import WeChatPayV3

NOTIFY = "/api/v1/payments/wechat/notify"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with start_simulator() as server:
        yield server


@pytest.fixture
def v3(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorServer]:
    """The shop on v3 in certificate mode (no platform public key configured)."""
    config = sim.v3_config(verification="certificate")
    monkeypatch.setattr(settings, "wechat_pay_version", "v3")
    monkeypatch.setattr(settings, "wechat_appid", config["appid"])
    monkeypatch.setattr(settings, "wechat_mch_id", config["mchid"])
    monkeypatch.setattr(settings, "wechat_api_base", sim.url)
    monkeypatch.setattr(settings, "wechat_apiv3_key", config["apiv3_key"])
    monkeypatch.setattr(settings, "wechat_private_key", config["merchant_private_key"])
    monkeypatch.setattr(settings, "wechat_serial_no", config["merchant_serial_no"])
    monkeypatch.setattr(settings, "wechat_platform_public_key", None)
    monkeypatch.setattr(settings, "wechat_platform_public_key_id", None)
    monkeypatch.setattr(settings, "payment_http_timeout", 10)
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())
    yield sim
    sim.state.faults.clear()
    sim.state.platform_mode = "public_key"


def _slow_gateway(sim: SimulatorServer) -> None:
    answer = httpx.post(
        f"{sim.url}/_simulator/faults",
        json={"faults": ["timeout"] * 5, "timeout_seconds": 6},
        timeout=5,
    )
    answer.raise_for_status()


def _signed(sim: SimulatorServer, no: str) -> tuple[dict[str, str], bytes]:
    order = SimOrder(
        out_trade_no=no,
        amount_fen=4800,
        notify_url="http://127.0.0.1/notify",
        trade_type="NATIVE",
        prepay_id=no,
        api="v3",
        description="鸡蛋",
        transaction_id="42" + no,
    )

    return notification(sim.state, order)


def test_an_unknown_serial_is_refused_at_once_without_a_download(  # type: ignore[no-untyped-def]
    client, v3: SimulatorServer
) -> None:
    provider = providers.provider("wechat_v3")  # start-up: the one implicit download
    assert isinstance(provider, WeChatPayV3)
    fetched = v3.state.certificate_requests
    _slow_gateway(v3)
    headers, body = _signed(v3, "V3N000001")
    for serial in ("0123456789ABCDEF0123", "not-hex", "F" * 400):
        started = time.perf_counter()
        refused = client.post(NOTIFY, content=body, headers={**headers, "Wechatpay-Serial": serial})
        assert time.perf_counter() - started < 1.0
        assert refused.status_code == 400, refused.text
        assert json.loads(refused.content)["code"] == "FAIL"
    assert v3.state.certificate_requests == fetched  # the gateway was never asked
    assert v3.state.faults == ["timeout"] * 5  # nor were its (slow) answers waited for
    v3.state.faults.clear()
    accepted = client.post(NOTIFY, content=body, headers=headers)  # the real serial verifies
    assert accepted.status_code == 204, accepted.text
    assert v3.state.certificate_requests == fetched


def test_a_rotated_certificate_arrives_with_the_periodic_refresh(  # type: ignore[no-untyped-def]
    client, session: Session, v3: SimulatorServer
) -> None:
    providers.provider("wechat_v3")
    old_cert = v3.state.platform_cert
    try:
        v3.state.platform_cert = self_signed_certificate(v3.state.platform_key, v3.state.mch_id)
        headers, body = _signed(v3, "V3N000002")
        assert client.post(NOTIFY, content=body, headers=headers).status_code == 400
        fetched = v3.state.certificate_requests
        # A gateway that fails keeps the certificates held; the next round succeeds.
        httpx.post(f"{v3.url}/_simulator/faults", json={"faults": ["error_500"]}).raise_for_status()
        with pytest.raises(Exception, match="WeChat Pay"):
            refresh_platform_certificates(session)
        assert refresh_platform_certificates(session) == 1
        assert v3.state.certificate_requests == fetched + 2
        assert client.post(NOTIFY, content=body, headers=headers).status_code == 204
    finally:
        v3.state.platform_cert = old_cert


def test_the_periodic_refresh_is_registered_and_idle_without_v3(session: Session) -> None:
    from farmgate.jobs import registry

    spec = registry.periodic_jobs()["payments.refresh_platform_certificates"]
    assert spec.every_seconds == 3600
    assert refresh_platform_certificates(session) == 0  # nothing configured: no call


def test_the_notify_endpoint_is_rate_and_size_limited(  # type: ignore[no-untyped-def]
    client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "rate_limits", True)
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())
    monkeypatch.setattr(ratelimit, "WINDOW", 3600)
    rule = ratelimit.rule_for("POST", NOTIFY)
    assert rule is not None and rule.name == "notify"
    monkeypatch.setattr(
        ratelimit,
        "RULES",
        tuple(dataclasses.replace(r, per_ip=3) if r is rule else r for r in ratelimit.RULES),
    )
    big = client.post(NOTIFY, content=b"{" + b" " * 70_000 + b"}")
    assert big.status_code == 413
    chunked = client.post(NOTIFY, content=iter([b"{", b" " * 70_000, b"}"]))
    assert chunked.status_code == 413
    # Both oversized ones were counted (the limit is enforced while the body is read, after
    # the rate limit): one more may pass.
    assert client.post(NOTIFY, content=b"{}").status_code != 429
    limited = client.post(NOTIFY, content=b"{}")
    assert limited.status_code == 429 and limited.headers["retry-after"]
