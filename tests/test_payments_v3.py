"""WeChat Pay v3 provider against the simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from farmgate.payments.provider import (
    AlreadyPaid,
    IntentCreated,
    MalformedNotification,
    Notification,
    PaymentError,
    PaymentUnavailable,
    SignatureInvalid,
    TradeClosed,
)
from farmgate.payments.simulator import SimulatorServer
from farmgate.payments.simulator.v3 import notification, platform_headers
from farmgate.payments.wechat_v3 import WeChatPayV3
from tests.support.payments import Merchant


@pytest.fixture(scope="module")
def merchant() -> Iterator[Merchant]:
    m = Merchant()
    yield m
    m.server.shutdown()


@pytest.fixture
def v3_provider(pay_sim: SimulatorServer, merchant: Merchant) -> WeChatPayV3:
    p = WeChatPayV3(**{**pay_sim.v3_config(), "timeout": 1})
    merchant.provider = p
    return p


_n = iter(range(10_000))


def _no() -> str:
    return f"V3T{next(_n):06d}"


def _intent(
    v3_provider: WeChatPayV3,
    merchant: Merchant,
    no: str,
    amount: int = 4800,
    channel: str = "native",
) -> IntentCreated:
    return v3_provider.create_intent(
        out_trade_no=no,
        amount_fen=amount,
        description="谭家场土鸡蛋 30 枚",
        channel=channel,  # type: ignore[arg-type]
        notify_url=merchant.url,
        client_ip="127.0.0.1",
        openid="o_payer" if channel == "jsapi" else None,
    )


def test_each_channel_and_idempotent_recreation(
    v3_provider: WeChatPayV3, merchant: Merchant, pay_sim: SimulatorServer
) -> None:
    no = _no()
    native = _intent(v3_provider, merchant, no)
    assert native.code_url and native.client["trade_type"] == "NATIVE"
    assert _intent(v3_provider, merchant, no).code_url == native.code_url  # same trade, same QR
    with pytest.raises(PaymentError) as refused:
        _intent(v3_provider, merchant, no, amount=9900)  # same number, other amount: refused
    assert refused.value.code == "OUT_TRADE_NO_USED"

    jsapi_no = _no()
    jsapi = _intent(v3_provider, merchant, jsapi_no, channel="jsapi")
    params = jsapi.jsapi
    assert params is not None and params["package"] == f"prepay_id={jsapi.provider_ref}"
    assert (
        _intent(v3_provider, merchant, jsapi_no, channel="jsapi").provider_ref == jsapi.provider_ref
    )
    # paySign: RSA-SHA256 by the merchant key over appId, timeStamp, nonceStr, package.
    message = "".join(f"{params[k]}\n" for k in ("appId", "timeStamp", "nonceStr", "package"))
    pay_sim.state.merchant_key.public_key().verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    with pytest.raises(PaymentError, match="openid"):
        v3_provider.create_intent(
            out_trade_no=_no(),
            amount_fen=100,
            description="x",
            channel="jsapi",
            notify_url=merchant.url,
            client_ip="127.0.0.1",
        )
    assert (_intent(v3_provider, merchant, _no(), channel="mweb").mweb_url or "").startswith(
        pay_sim.url + "/_simulator/scan/"
    )


def test_pay_notify_verify_and_recreate_after_payment(
    v3_provider: WeChatPayV3, merchant: Merchant, pay_sim: SimulatorServer
) -> None:
    no = _no()
    _intent(v3_provider, merchant, no, amount=2550)
    paid = pay_sim.pay(no)
    assert paid["notify_status"] == [204]  # the merchant verified it and acknowledged
    note = merchant.parsed[-1]
    assert isinstance(note, Notification)
    assert (note.out_trade_no, note.amount_fen, note.currency, note.paid) == (no, 2550, "CNY", True)
    assert note.transaction_id == paid["transaction_id"]
    assert note.paid_at is not None and note.paid_at.utcoffset() is not None
    headers = merchant.received[-1][0]
    assert headers["Wechatpay-Serial"] == pay_sim.state.platform_public_key_id

    result = v3_provider.query(no)
    assert (result.state, result.transaction_id, result.amount_fen) == (
        "SUCCESS",
        note.transaction_id,
        2550,
    )
    with pytest.raises(AlreadyPaid) as again:  # never a second charge
        _intent(v3_provider, merchant, no, amount=2550)
    assert again.value.result.transaction_id == note.transaction_id


def test_forged_tampered_stale_and_malformed_notifications(
    v3_provider: WeChatPayV3, merchant: Merchant, pay_sim: SimulatorServer
) -> None:
    no = _no()
    _intent(v3_provider, merchant, no)
    pay_sim.inject("notify_forged")
    assert pay_sim.pay(no)["notify_status"] == [400]  # signed with a key WeChat never had
    assert isinstance(merchant.parsed[-1], SignatureInvalid)

    order = pay_sim.state.orders[no]
    headers, body = notification(pay_sim.state, order)
    assert v3_provider.parse_notification(headers, body).amount_fen == 4800
    lower = {k.lower(): v for k, v in headers.items()}  # header names are case-insensitive
    assert v3_provider.parse_notification(lower, body).out_trade_no == no
    with pytest.raises(SignatureInvalid):  # a byte changed in the body
        v3_provider.parse_notification(headers, body.replace(b'"TRANSACTION', b'"TRANSACTIOM'))
    bad_sig = {**headers, "Wechatpay-Signature": headers["Wechatpay-Signature"][:-4] + "AAA="}
    with pytest.raises(SignatureInvalid):
        v3_provider.parse_notification(bad_sig, body)
    with pytest.raises(SignatureInvalid):  # headers missing
        v3_provider.parse_notification({"Content-Type": "application/json"}, body)
    # Ciphertext altered but the envelope re-signed (as by someone holding the platform key but
    # not the APIv3 key): the AES-GCM tag fails.
    event = json.loads(body)
    event["resource"]["ciphertext"] = base64.b64encode(b"\0" * 64).decode()
    resealed = json.dumps(event).encode()
    with pytest.raises(SignatureInvalid):
        v3_provider.parse_notification(platform_headers(pay_sim.state, resealed.decode()), resealed)
    # A genuine but old notification (replayed) is refused.
    stale = {**headers, "Wechatpay-Timestamp": str(int(time.time()) - 3600)}
    with pytest.raises(SignatureInvalid, match="off"):
        v3_provider.parse_notification(stale, body)
    with pytest.raises(MalformedNotification):
        v3_provider.parse_notification(headers, b"not json")


def test_wrong_amount_and_duplicate_notifications_are_visible(
    v3_provider: WeChatPayV3, merchant: Merchant, pay_sim: SimulatorServer
) -> None:
    no = _no()
    _intent(v3_provider, merchant, no, amount=1200)
    pay_sim.inject("notify_wrong_amount")
    pay_sim.pay(no)
    note = merchant.parsed[-1]
    assert isinstance(note, Notification) and note.amount_fen == 1201  # the caller compares
    before = len(merchant.parsed)
    pay_sim.inject("notify_twice")
    assert pay_sim.pay(no)["notify_status"] == [204, 204]
    first, second = merchant.parsed[before:]
    assert isinstance(first, Notification) and isinstance(second, Notification)
    assert first.transaction_id == second.transaction_id  # the key to store it once under


def test_query_close_and_refunds(
    v3_provider: WeChatPayV3, merchant: Merchant, pay_sim: SimulatorServer
) -> None:
    unpaid = _no()
    _intent(v3_provider, merchant, unpaid)
    assert v3_provider.query(unpaid).state == "NOTPAY"
    v3_provider.close(unpaid)
    v3_provider.close(unpaid)  # closing twice is fine
    assert v3_provider.query(unpaid).state == "CLOSED"
    with pytest.raises(TradeClosed):
        _intent(v3_provider, merchant, unpaid)
    assert v3_provider.query("NOSUCHORDER").state == "NOT_FOUND"

    paid = _no()
    _intent(v3_provider, merchant, paid, amount=5000)
    pay_sim.pay(paid)
    with pytest.raises(PaymentError, match="ORDERPAID"):
        v3_provider.close(paid)
    part = v3_provider.refund(
        out_trade_no=paid, out_refund_no="V3R1", total_fen=5000, refund_fen=2000, reason="少发一袋"
    )
    again = v3_provider.refund(
        out_trade_no=paid, out_refund_no="V3R1", total_fen=5000, refund_fen=2000, reason="少发一袋"
    )
    assert part == again and part.refund_fen == 2000 and part.status == "SUCCESS"
    rest = v3_provider.refund(
        out_trade_no=paid, out_refund_no="V3R2", total_fen=5000, refund_fen=3000, reason=""
    )
    assert rest.refund_fen == 3000 and rest.refund_id != part.refund_id
    with pytest.raises(PaymentError) as too_much:
        v3_provider.refund(
            out_trade_no=paid, out_refund_no="V3R3", total_fen=5000, refund_fen=1, reason=""
        )
    assert too_much.value.code == "NOT_ENOUGH" and not isinstance(
        too_much.value, PaymentUnavailable
    )
    assert v3_provider.query(paid).state == "REFUND"
    assert pay_sim.state.orders[paid].refunds == {"V3R1": 2000, "V3R2": 3000}


def test_outages_and_timeouts_are_transient(
    v3_provider: WeChatPayV3, merchant: Merchant, pay_sim: SimulatorServer
) -> None:
    pay_sim.inject("error_500")
    with pytest.raises(PaymentUnavailable):
        _intent(v3_provider, merchant, _no())
    pay_sim.inject("timeout", timeout_seconds=2)  # the provider gives up after 1 s
    started = time.monotonic()
    with pytest.raises(PaymentUnavailable):
        v3_provider.query("whatever")
    assert time.monotonic() - started < 1.9
    no = _no()  # a retry with the same number after an outage just works
    pay_sim.inject("error_500")
    with pytest.raises(PaymentUnavailable):
        _intent(v3_provider, merchant, no)
    assert _intent(v3_provider, merchant, no).code_url


def test_a_wrong_merchant_key_is_refused_and_a_wrong_platform_key_distrusted(
    pay_sim: SimulatorServer, merchant: Merchant
) -> None:
    from farmgate.payments.simulator.state import new_rsa_key, private_pem, public_pem

    other = new_rsa_key()
    wrong_merchant = WeChatPayV3(
        **{**pay_sim.v3_config(), "merchant_private_key": private_pem(other)}
    )
    with pytest.raises(PaymentError) as refused:
        _intent(wrong_merchant, merchant, _no())
    assert refused.value.code == "SIGN_ERROR"
    wrong_platform = WeChatPayV3(
        **{**pay_sim.v3_config(), "platform_public_key": public_pem(other)}
    )
    with pytest.raises(SignatureInvalid):  # the answer does not verify: do not trust it
        _intent(wrong_platform, merchant, _no())


def test_platform_certificate_mode(pay_sim: SimulatorServer, merchant: Merchant) -> None:
    """Older merchants verify with platform certificates downloaded from /v3/certificates."""
    try:
        config = pay_sim.v3_config(verification="certificate")
        assert "platform_public_key" not in config
        v3_provider = WeChatPayV3(**config)
        no = _no()
        assert _intent(v3_provider, merchant, no).code_url
        merchant.provider = v3_provider
        assert pay_sim.pay(no)["notify_status"] == [204]
        assert merchant.received[-1][0]["Wechatpay-Serial"] == pay_sim.state.platform_serial_no
        cert = pay_sim.state.platform_cert.public_bytes(serialization.Encoding.PEM)
        assert cert.startswith(b"-----BEGIN CERTIFICATE-----")
    finally:
        pay_sim.state.platform_mode = "public_key"


def test_ack_is_v3_wire_format(v3_provider: WeChatPayV3) -> None:
    assert v3_provider.ack(True) == (204, "application/json", b"")
    status, _ctype, body = v3_provider.ack(False, "签名错误")
    assert status == 400 and json.loads(body) == {"code": "FAIL", "message": "签名错误"}
