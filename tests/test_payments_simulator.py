"""The WeChat Pay simulator itself, spoken to over raw HTTP: it must be strict and obvious."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
import xmltodict
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from farmgate.payments.simulator import FAULTS, SimulatorServer, start_simulator
from farmgate.payments.simulator.state import rsa_sign
from farmgate.payments.simulator.v2 import md5_sign, to_xml
from farmgate.payments.wechat_v2 import hmac_sha256_sign
from farmgate.payments.wechat_v3 import WeChatPayV3
from tests.support.payments import Merchant


def _v2(pay_sim: SimulatorServer, endpoint: str, sign_type: str = "HMAC-SHA256", **data: object):  # type: ignore[no-untyped-def]
    s = pay_sim.state
    data = {"appid": s.appid, "mch_id": s.mch_id, "nonce_str": "n1", "sign_type": sign_type, **data}
    data["sign"] = (hmac_sha256_sign if sign_type == "HMAC-SHA256" else md5_sign)(data, s.api_key)
    return httpx.post(f"{pay_sim.url}/{endpoint}", content=to_xml(data), timeout=5)


def _v3(pay_sim: SimulatorServer, method: str, path: str, body: object = None, **auth: str):  # type: ignore[no-untyped-def]
    """A v3 call signed by hand (the provider is not used, so the simulator is checked alone)."""
    s = pay_sim.state
    raw = json.dumps(body) if body is not None else ""
    timestamp, nonce = auth.get("timestamp", str(int(time.time()))), "abc123"
    signature = rsa_sign(s.merchant_key, f"{method}\n{path}\n{timestamp}\n{nonce}\n{raw}\n")
    header = (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{auth.get("mchid", s.mch_id)}",nonce_str="{nonce}",'
        f'signature="{auth.get("signature", signature)}",timestamp="{timestamp}",'
        f'serial_no="{s.merchant_serial_no}"'
    )
    return httpx.request(
        method,
        pay_sim.url + path,
        content=raw or None,
        headers={"Authorization": header, "Content-Type": "application/json"},
        timeout=5,
    )


def _verify_platform_signature(pay_sim: SimulatorServer, headers: httpx.Headers, body: str) -> None:
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body}\n"
    pay_sim.state.platform_key.public_key().verify(
        base64.b64decode(headers["Wechatpay-Signature"]),
        message.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def test_every_answer_says_simulator_and_pages_carry_the_banner(pay_sim: SimulatorServer) -> None:
    answers = [
        _v2(pay_sim, "pay/orderquery", out_trade_no="NONE"),
        _v3(pay_sim, "GET", "/v3/pay/transactions/out-trade-no/NONE?mchid=1900000109"),
        httpx.get(f"{pay_sim.url}/no/such/path", timeout=5),
        httpx.post(f"{pay_sim.url}/_simulator/pay/NONE", timeout=5),
    ]
    assert [a.headers.get("X-Simulator") for a in answers] == ["wechatpay"] * 4
    assert [a.status_code for a in answers] == [200, 404, 404, 404]
    created = _v2(
        pay_sim,
        "pay/unifiedorder",
        out_trade_no="SIMPAGE1",
        total_fee=1999,
        body="<b>蜂蜜</b>",
        trade_type="NATIVE",
        notify_url="http://127.0.0.1:9/notify",
        spbill_create_ip="127.0.0.1",
    )
    code_url = xmltodict.parse(created.text)["xml"]["code_url"]
    page = httpx.get(code_url, timeout=5)
    assert page.headers["X-Simulator"] == "wechatpay"
    assert "模拟支付" in page.text and "¥19.99" in page.text and "不会产生真实扣款" in page.text
    paid = httpx.post(
        f"{pay_sim.url}/_simulator/pay/SIMPAGE1", headers={"Accept": "text/html"}, timeout=15
    )
    assert "模拟支付" in paid.text and "支付成功" in paid.text
    # The merchant was unreachable: recorded as status 0, still kept for inspection.
    last = pay_sim.state.deliveries[-1]
    assert (last.out_trade_no, last.status, pay_sim.state.sent[-1]) == ("SIMPAGE1", 0, last.body)


def test_v2_checks_signatures_both_md5_and_hmac(pay_sim: SimulatorServer) -> None:
    ok = _v2(pay_sim, "pay/orderquery", sign_type="MD5", out_trade_no="NONE")
    data = xmltodict.parse(ok.text)["xml"]
    assert data["return_code"] == "SUCCESS" and data["err_code"] == "ORDERNOTEXIST"
    assert data["sign"] == md5_sign(data, pay_sim.state.api_key)
    s = pay_sim.state
    forged = {"appid": s.appid, "mch_id": s.mch_id, "out_trade_no": "X", "sign_type": "HMAC-SHA256"}
    forged["nonce_str"] = "n2"
    forged["sign"] = hmac_sha256_sign(forged, "not-the-key")
    refused = httpx.post(f"{pay_sim.url}/pay/orderquery", content=to_xml(forged), timeout=5)
    assert xmltodict.parse(refused.text)["xml"]["return_msg"] == "签名错误"


@pytest.mark.parametrize("nonce", ["", "n" * 33])
def test_v2_requires_a_nonce_of_at_most_32_characters(pay_sim: SimulatorServer, nonce: str) -> None:
    answer = _v2(pay_sim, "pay/orderquery", nonce_str=nonce, out_trade_no="NONE")
    assert xmltodict.parse(answer.text)["xml"]["return_code"] == "FAIL"
    longest = _v2(pay_sim, "pay/orderquery", nonce_str="n" * 32, out_trade_no="NONE")
    assert xmltodict.parse(longest.text)["xml"]["return_code"] == "SUCCESS"


def test_v3_requires_the_merchant_signature_and_signs_its_answers(pay_sim: SimulatorServer) -> None:
    path = "/v3/pay/transactions/native"
    order = {
        "appid": pay_sim.state.appid,
        "mchid": pay_sim.state.mch_id,
        "description": "菜籽油 5L",
        "out_trade_no": "SIMV3A",
        "notify_url": "http://127.0.0.1:9/notify",
        "amount": {"total": 12800, "currency": "CNY"},
    }
    answer = _v3(pay_sim, "POST", path, order)
    assert answer.status_code == 200 and answer.json()["code_url"].startswith(pay_sim.url)
    _verify_platform_signature(pay_sim, answer.headers, answer.text)
    assert answer.headers["Wechatpay-Serial"] == pay_sim.state.platform_public_key_id

    assert _v3(pay_sim, "POST", path, order, signature="AAAA").json()["code"] == "SIGN_ERROR"
    assert _v3(pay_sim, "POST", path, order, mchid="1").status_code == 401
    stale = _v3(pay_sim, "POST", path, order, timestamp=str(int(time.time()) - 3600))
    assert stale.status_code == 401
    unsigned = httpx.post(pay_sim.url + path, json=order, timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["message"] == "签名错误"


def test_v3_certificates_decrypt_with_the_apiv3_key(pay_sim: SimulatorServer) -> None:
    answer = _v3(pay_sim, "GET", "/v3/certificates")
    item = answer.json()["data"][0]
    sealed = item["encrypt_certificate"]
    pem = AESGCM(pay_sim.state.apiv3_key.encode()).decrypt(
        sealed["nonce"].encode(),
        base64.b64decode(sealed["ciphertext"]),
        sealed["associated_data"].encode(),
    )
    assert pem.decode() == pay_sim.state.platform_cert_pem
    assert item["serial_no"] == pay_sim.state.platform_serial_no


def test_v3_notification_is_signed_and_encrypted(pay_sim: SimulatorServer) -> None:
    merchant = Merchant()
    try:
        provider = WeChatPayV3(**pay_sim.v3_config())
        provider.create_intent(
            out_trade_no="SIMV3N",
            amount_fen=650,
            description="土豆 5 斤",
            channel="native",
            notify_url=merchant.url,
            client_ip="127.0.0.1",
        )
        assert pay_sim.pay("SIMV3N")["notify_status"] == [200]
        headers, body = merchant.received[-1]
        assert headers["X-Simulator"] == "wechatpay"
        _verify_platform_signature(pay_sim, httpx.Headers(headers), body.decode())
        event = json.loads(body)
        assert event["event_type"] == "TRANSACTION.SUCCESS" and "amount" not in body.decode()
        r = event["resource"]
        plain = AESGCM(pay_sim.state.apiv3_key.encode()).decrypt(
            r["nonce"].encode(), base64.b64decode(r["ciphertext"]), r["associated_data"].encode()
        )
        resource = json.loads(plain)
        assert resource["amount"]["total"] == 650 and resource["trade_state"] == "SUCCESS"
        assert resource["success_time"].endswith("+08:00")
        record = pay_sim.order("SIMV3N")
        assert record is not None and record["state"] == "SUCCESS" and record["api"] == "v3"
        assert pay_sim.order("NOPE") is None
    finally:
        merchant.server.shutdown()


def test_fault_control_api(pay_sim: SimulatorServer) -> None:
    assert FAULTS == {
        "error_500",
        "timeout",
        "notify_twice",
        "notify_forged",
        "notify_wrong_amount",
        "refund_processing",
        "share_receiver_missing",
        "share_ratio_exceeded",
        "share_processing",
        "share_receiver_closed",
        "return_processing",
    }
    bad = httpx.post(f"{pay_sim.url}/_simulator/faults", json={"faults": ["meteor"]}, timeout=5)
    assert bad.status_code == 400
    pay_sim.inject("error_500")
    assert pay_sim.state.faults == ["error_500"]
    down = _v2(pay_sim, "pay/orderquery", out_trade_no="NONE")
    assert down.status_code == 503 and down.headers["X-Simulator"] == "wechatpay"
    assert _v2(pay_sim, "pay/orderquery", out_trade_no="NONE").status_code == 200  # used once
    pay_sim.inject("timeout", timeout_seconds=1.5)
    started = time.monotonic()
    assert _v2(pay_sim, "pay/orderquery", out_trade_no="NONE").status_code == 200
    assert time.monotonic() - started >= 1.5


def test_a_closed_order_cannot_be_paid(pay_sim: SimulatorServer) -> None:
    _v2(
        pay_sim,
        "pay/unifiedorder",
        out_trade_no="SIMCLOSED",
        total_fee=100,
        body="x",
        trade_type="NATIVE",
        notify_url="http://127.0.0.1:9/notify",
        spbill_create_ip="127.0.0.1",
    )
    _v2(pay_sim, "pay/closeorder", out_trade_no="SIMCLOSED")
    assert httpx.post(f"{pay_sim.url}/_simulator/pay/SIMCLOSED", timeout=5).status_code == 409


def test_each_simulator_has_its_own_port_and_keys(pay_sim: SimulatorServer) -> None:
    with start_simulator() as other:
        assert other.url != pay_sim.url
        assert other.state.api_key != pay_sim.state.api_key
        assert other.state.apiv3_key != pay_sim.state.apiv3_key
        assert (
            other.v3_config()["merchant_private_key"] != pay_sim.v3_config()["merchant_private_key"]
        )
        assert other.v2_config()["base_url"] == other.url
