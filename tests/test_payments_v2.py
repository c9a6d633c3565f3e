"""WeChat Pay v2 provider against the simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import certifi
import pytest
import urllib3
import xmltodict

from farmgate import outbound
from farmgate.payments import wechat_v2
from farmgate.payments.provider import (
    AlreadyPaid,
    MalformedNotification,
    Notification,
    PaymentError,
    PaymentUnavailable,
    SignatureInvalid,
    TradeClosed,
)
from farmgate.payments.simulator import SimulatorServer
from farmgate.payments.wechat_v2 import WeChatPayV2, hmac_sha256_sign
from tests.support.payments import Merchant


class Receiver:
    """A merchant's notify_url: records what the simulator posts."""

    def __init__(self) -> None:
        received = self.bodies = []  # type: ignore[var-annotated]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"<xml><return_code>SUCCESS</return_code></xml>")

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def v2_provider(pay_sim: SimulatorServer) -> WeChatPayV2:
    s = pay_sim.state
    return WeChatPayV2(
        appid=s.appid, mch_id=s.mch_id, api_key=s.api_key, base_url=pay_sim.url, timeout=1
    )


_n = iter(range(10_000))


def _no() -> str:
    return f"T{next(_n):06d}"


def _intent(
    v2_provider: WeChatPayV2,
    receiver: Receiver,
    no: str,
    amount: int = 4800,
    channel: str = "native",
):  # type: ignore[no-untyped-def]
    return v2_provider.create_intent(
        out_trade_no=no,
        amount_fen=amount,
        description="谭家场干红辣椒",
        channel=channel,  # type: ignore[arg-type]
        notify_url=receiver.url,
        client_ip="127.0.0.1",
        openid="o_payer" if channel == "jsapi" else None,
    )


def test_native_intent_is_idempotent_by_out_trade_no(v2_provider, receiver) -> None:  # type: ignore[no-untyped-def]
    no = _no()
    first = _intent(v2_provider, receiver, no)
    again = _intent(v2_provider, receiver, no)
    assert first.client["code_url"] and first.provider_ref == again.provider_ref
    with pytest.raises(PaymentError, match=r"ORDERPAID|OUT_TRADE_NO_USED"):
        _intent(v2_provider, receiver, no, amount=9900)  # same number, different amount: refused


def test_requests_carry_a_csprng_nonce_and_are_signed_here(  # type: ignore[no-untyped-def]
    v2_provider, receiver, monkeypatch
) -> None:
    """Each request's nonce comes from ``secrets`` and its HMAC-SHA256 signature is made here:
    wechatpy's own nonce (``random.sample``, not meant for secrets) is never drawn, not even
    as an argument that ``setdefault`` throws away."""
    import wechatpy.pay

    def no_draw(_length: int = 32) -> str:
        raise AssertionError("wechatpy drew a nonce of its own")

    monkeypatch.setattr(wechatpy.pay, "random_string", no_draw)
    sent: list[bytes] = []
    transport = v2_provider.client._http
    request = transport.request

    def recording(method: str, url: str, data: bytes | None = None, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(data or b"")
        return request(method, url, data=data, **kwargs)

    monkeypatch.setattr(transport, "request", recording)
    no = _no()
    assert _intent(v2_provider, receiver, no).client["code_url"]
    assert len(sent) == 1
    body = xmltodict.parse(sent[0])["xml"]
    assert len(body["nonce_str"]) == 32 and int(body["nonce_str"], 16) >= 0
    assert body["sign_type"] == "HMAC-SHA256" and body["mch_id"] == v2_provider.client.mch_id
    assert hmac.compare_digest(body["sign"], hmac_sha256_sign(body, v2_provider.api_key))
    nonces = set()
    for _ in range(3):
        sent.clear()
        assert v2_provider.query(no).state == "NOTPAY"
        nonces.add(xmltodict.parse(sent[0])["xml"]["nonce_str"])
    assert len(nonces) == 3  # a new nonce per request


def test_jsapi_and_mweb_channels(v2_provider, receiver) -> None:  # type: ignore[no-untyped-def]
    jsapi = _intent(v2_provider, receiver, _no(), channel="jsapi").client["jsapi"]
    assert jsapi["package"].startswith("prepay_id=") and jsapi["signType"] == "HMAC-SHA256"
    assert jsapi["paySign"] == hmac_sha256_sign(
        {k: v for k, v in jsapi.items() if k != "paySign"}, v2_provider.api_key
    )
    assert (
        _intent(v2_provider, receiver, _no(), channel="mweb")
        .client["mweb_url"]
        .startswith("http://127.0.0.1")
    )


def test_payment_notification_verifies_and_forgeries_do_not(v2_provider, receiver, pay_sim) -> None:  # type: ignore[no-untyped-def]
    no = _no()
    _intent(v2_provider, receiver, no)
    before = len(receiver.bodies)
    pay_sim.pay(no)
    note = v2_provider.parse_notification({}, receiver.bodies[before])
    assert (note.out_trade_no, note.amount_fen, note.currency, note.paid) == (no, 4800, "CNY", True)
    assert note.paid_at is not None and note.paid_at.tzinfo is not None
    assert v2_provider.query(no).state == "SUCCESS"

    pay_sim.inject("notify_forged")
    pay_sim.pay(no)
    with pytest.raises(SignatureInvalid):
        v2_provider.parse_notification({}, receiver.bodies[-1])
    # The same signature in lower case, or with its last character changed, is not accepted.
    genuine = receiver.bodies[before].decode()
    sign = genuine.split("<sign><![CDATA[")[1].split("]]>")[0]
    for tampered in (sign.lower(), sign[:-1] + ("0" if sign[-1] != "0" else "1")):
        with pytest.raises(SignatureInvalid):
            v2_provider.parse_notification({}, genuine.replace(sign, tampered).encode())


def test_wrong_amount_and_duplicate_notifications_are_visible(
    v2_provider, receiver, pay_sim
) -> None:  # type: ignore[no-untyped-def]
    no = _no()
    _intent(v2_provider, receiver, no, amount=1200)
    before = len(receiver.bodies)
    pay_sim.inject("notify_wrong_amount")
    pay_sim.pay(no)
    assert (
        v2_provider.parse_notification({}, receiver.bodies[-1]).amount_fen == 1201
    )  # the caller must compare
    pay_sim.inject("notify_twice")
    pay_sim.pay(no)
    assert len(receiver.bodies) == before + 3
    assert receiver.bodies[-1] == receiver.bodies[-2]


def test_query_close_and_refunds(v2_provider, receiver, pay_sim) -> None:  # type: ignore[no-untyped-def]
    unpaid = _no()
    _intent(v2_provider, receiver, unpaid)
    assert v2_provider.query(unpaid).state == "NOTPAY"
    v2_provider.close(unpaid)
    assert v2_provider.query(unpaid).state == "CLOSED"
    assert v2_provider.query("NOSUCHORDER").state == "NOT_FOUND"

    paid = _no()
    _intent(v2_provider, receiver, paid, amount=5000)
    pay_sim.pay(paid)
    part = v2_provider.refund(
        out_trade_no=paid, out_refund_no="R1", total_fen=5000, refund_fen=2000, reason="少发一袋"
    )
    again = v2_provider.refund(
        out_trade_no=paid, out_refund_no="R1", total_fen=5000, refund_fen=2000, reason="少发一袋"
    )
    assert part == again and part.refund_fen == 2000  # idempotent by out_refund_no
    rest = v2_provider.refund(
        out_trade_no=paid, out_refund_no="R2", total_fen=5000, refund_fen=3000, reason=""
    )
    assert rest.refund_fen == 3000
    with pytest.raises(PaymentError, match="NOTENOUGH"):
        v2_provider.refund(
            out_trade_no=paid, out_refund_no="R3", total_fen=5000, refund_fen=1, reason=""
        )


def test_outages_and_timeouts_are_transient(v2_provider, receiver, pay_sim) -> None:  # type: ignore[no-untyped-def]
    pay_sim.inject("error_500")
    with pytest.raises(PaymentUnavailable):
        _intent(v2_provider, receiver, _no())
    pay_sim.state.timeout_seconds = 2  # the provider gives up after 1 s
    pay_sim.inject("timeout")
    with pytest.raises(PaymentUnavailable):
        v2_provider.query("whatever")
    with socket.socket() as probe:  # a port nothing listens on: refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = pay_sim.state
    gone = WeChatPayV2(
        appid=s.appid, mch_id=s.mch_id, api_key=s.api_key, base_url=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(PaymentUnavailable, match="ConnectionError"):
        gone.query("whatever")


def test_a_wrong_api_key_is_refused(pay_sim, receiver) -> None:  # type: ignore[no-untyped-def]
    s = pay_sim.state
    wrong = WeChatPayV2(
        appid=s.appid, mch_id=s.mch_id, api_key="0" * 32, base_url=pay_sim.url, timeout=2
    )
    with pytest.raises(PaymentError, match="签名错误"):
        _intent(wrong, receiver, _no())


def test_recreating_a_paid_or_closed_trade_asks_wechat_and_never_charges_twice(
    v2_provider, receiver, pay_sim
) -> None:  # type: ignore[no-untyped-def]
    paid = _no()
    _intent(v2_provider, receiver, paid, amount=3300)
    transaction_id = pay_sim.pay(paid)["transaction_id"]
    with pytest.raises(AlreadyPaid) as again:
        _intent(v2_provider, receiver, paid, amount=3300)
    assert again.value.code == "ORDERPAID"
    assert (again.value.result.transaction_id, again.value.result.amount_fen) == (
        transaction_id,
        3300,
    )
    closed = _no()
    _intent(v2_provider, receiver, closed)
    v2_provider.close(closed)
    with pytest.raises(TradeClosed):
        _intent(v2_provider, receiver, closed)
    with pytest.raises(PaymentError) as refused:  # a paid trade cannot be closed
        v2_provider.close(paid)
    assert refused.value.code == "ORDERPAID"


def test_the_merchant_verifies_and_acknowledges_in_v2_xml(v2_provider, pay_sim) -> None:  # type: ignore[no-untyped-def]
    merchant = Merchant()
    merchant.provider = v2_provider
    try:
        no = _no()
        _intent(v2_provider, merchant, no, amount=880)  # type: ignore[arg-type]
        assert pay_sim.pay(no)["notify_status"] == [200]
        note = merchant.parsed[-1]
        assert isinstance(note, Notification) and note.amount_fen == 880
        assert xmltodict.parse(v2_provider.ack(True)[2])["xml"]["return_code"] == "SUCCESS"
        pay_sim.inject("notify_forged")
        pay_sim.pay(no)
        assert isinstance(merchant.parsed[-1], SignatureInvalid)
        assert pay_sim.state.deliveries[-1].status == 200  # v2 acks FAIL inside a 200
        assert b"FAIL" in v2_provider.ack(False)[2]
    finally:
        merchant.server.shutdown()


def test_verification_compares_in_constant_time(
    v2_provider, receiver, pay_sim, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    no = _no()
    _intent(v2_provider, receiver, no)
    pay_sim.pay(no)
    body = receiver.bodies[-1]
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(wechat_v2.hmac, "compare_digest", spy)
    assert v2_provider.parse_notification({}, body).out_trade_no == no
    assert len(calls) == 1 and calls[0][0] == calls[0][1]
    with pytest.raises(MalformedNotification):
        v2_provider.parse_notification({}, b"<xml><oops")
    with pytest.raises(SignatureInvalid):  # unsigned
        v2_provider.parse_notification({}, b"<xml><out_trade_no>X</out_trade_no></xml>")


def test_proxy_and_ca_variables_are_read_once_when_the_pool_is_made(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """wechatpy's requests session is replaced by one urllib3 pool per process and gateway
    (farmgate/outbound.py): a deployment's proxy and CA bundle still apply, no_proxy still
    exempts its hosts, and the merchant's client certificate goes with the calls that use it."""
    for name in (
        *("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"),
        *outbound.CA_BUNDLE_VARIABLES,
    ):
        monkeypatch.delenv(name, raising=False)
    outbound.clear()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    provider = WeChatPayV2(appid="wx1", mch_id="1", api_key="k" * 32)
    url = provider.client.API_BASE_URL + "pay/unifiedorder"
    proxied = outbound.pool(url)
    assert isinstance(proxied, urllib3.ProxyManager)
    assert proxied.proxy is not None and proxied.proxy.host == "proxy.example"
    assert proxied.connection_pool_kw["ca_certs"] == "/etc/ssl/certs/ca-certificates.crt"
    monkeypatch.delenv("HTTPS_PROXY")
    assert outbound.pool(url) is proxied  # read once: the pool stays as it was made

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "pay.internal")
    assert not isinstance(outbound.pool("https://pay.internal/pay/refund"), urllib3.ProxyManager)

    for name in ("HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name)
    outbound.clear()
    plain = outbound.pool(url)
    assert not isinstance(plain, urllib3.ProxyManager)
    assert plain.connection_pool_kw["ca_certs"] == certifi.where()
    signed = outbound.pool(url, ("/run/mch/cert.pem", "/run/mch/key.pem"))
    assert signed is not plain
    assert signed.connection_pool_kw["cert_file"] == "/run/mch/cert.pem"
    assert signed.connection_pool_kw["key_file"] == "/run/mch/key.pem"
    outbound.clear()
