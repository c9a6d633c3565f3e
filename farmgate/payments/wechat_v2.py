"""WeChat Pay API v2 (XML, HMAC-SHA256 signatures) through wechatpy.

wechatpy 1.8's ``parse_payment_result`` always recomputes an MD5 signature and compares with
``!=``; notifications here are verified with HMAC-SHA256 and ``hmac.compare_digest`` instead.
``WeChatPay.API_BASE_URL`` is a class attribute read on every request, so setting it on the
instance points one client at another host (the simulator) without touching the others.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests
import xmltodict
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import dict_to_xml

from farmgate import outbound
from farmgate.payments.provider import (
    TRANSIENT_CODES,
    Channel,
    IntentCreated,
    MalformedNotification,
    Notification,
    PaymentError,
    PaymentProvider,
    PaymentUnavailable,
    QueryResult,
    RefundResult,
    SignatureInvalid,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TRADE_TYPES = {"native": "NATIVE", "jsapi": "JSAPI", "mweb": "MWEB"}


def hmac_sha256_sign(params: Mapping[str, Any], api_key: str) -> str:
    """WeChat Pay v2's signature: sorted non-empty k=v pairs, &key=API_KEY, HMAC-SHA256, upper."""
    text = "&".join(
        f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, "")
    )
    return (
        hmac.new(api_key.encode(), f"{text}&key={api_key}".encode(), hashlib.sha256)
        .hexdigest()
        .upper()
    )


def verify(params: Mapping[str, Any], api_key: str) -> bool:
    given = str(params.get("sign", ""))
    return hmac.compare_digest(hmac_sha256_sign(params, api_key).encode(), given.encode())


def _paid_at(value: str | None) -> datetime | None:
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI) if value else None


class _Answer:
    """What wechatpy reads of a ``requests.Response``: the status, the text, the errors."""

    request = None

    def __init__(self, status: int, content: bytes) -> None:
        self.status_code, self.content, self.encoding = status, content, "utf-8"

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"HTTP {self.status_code}", response=self)


class _Transport:
    """wechatpy's ``WeChatPay._http`` (a ``requests.Session``) replaced by one urllib3 pool
    per process (``farmgate.outbound``): about 1.2 M fewer instructions per call
    (bench/README.md, section 11). wechatpy calls ``request(method=, url=, data=, timeout=,
    cert=)``; transport failures are raised as requests' own, as a session would."""

    def request(
        self,
        method: str,
        url: str,
        data: bytes | None = None,
        timeout: float | None = None,
        cert: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Answer:
        try:
            answer = outbound.request(
                method.upper(), url, body=data, headers=headers, timeout=timeout, cert=cert
            )
        except outbound.Unreachable as exc:
            failure = requests.Timeout if exc.timed_out else requests.ConnectionError
            raise failure(str(exc)) from exc
        return _Answer(answer.status, answer.data)

    def post(self, url: str, **kwargs: Any) -> _Answer:
        return self.request("POST", url, **kwargs)


class WeChatPayV2(PaymentProvider):
    name = "wechat_v2"

    def __init__(
        self,
        *,
        appid: str,
        mch_id: str,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 10,
        mch_cert: str | None = None,
        mch_key: str | None = None,
    ) -> None:
        """``mch_cert``/``mch_key``: paths of the merchant's API client certificate, which the
        real /secapi/pay/refund requires (the simulator does not)."""
        self.api_key = api_key
        self.client = WeChatPay(
            appid=appid,
            api_key=api_key,
            mch_id=mch_id,
            timeout=timeout,
            mch_cert=mch_cert,
            mch_key=mch_key,
        )
        if base_url:
            self.client.API_BASE_URL = base_url.rstrip("/") + "/"
        self.client._http = _Transport()

    def _call(self, endpoint: str, **data: Any) -> dict[str, Any]:
        """POST to a v2 endpoint, signed HMAC-SHA256 (wechatpy's helpers would sign MD5)."""
        result = self._post(endpoint, **data)
        if not isinstance(result, dict):
            raise PaymentUnavailable("unreadable answer from WeChat Pay")
        if not verify(result, self.api_key):
            raise SignatureInvalid("response signature does not verify")
        return result

    def _post(self, endpoint: str, **data: Any) -> Any:
        """The answer: a dict when it was XML (wechatpy parses it), else the text."""
        # Signed here and handed to wechatpy as the XML body, which it sends as it is. Given a
        # dict, it would add its own nonce with ``data.setdefault("nonce_str",
        # random_string(32))``: Python makes that argument even when a nonce is there, and
        # wechatpy's is random.sample() of 62 letters (Mersenne Twister, not meant for
        # secrets, 32 Python-level draws). This nonce comes from the system's CSPRNG.
        data = {k: v for k, v in data.items() if v is not None}
        data.update(
            appid=self.client.appid,
            mch_id=self.client.mch_id,
            sign_type="HMAC-SHA256",
            nonce_str=secrets.token_hex(16),
        )
        body = dict_to_xml(data, hmac_sha256_sign(data, self.api_key)).encode()
        try:
            return self.client.post(endpoint, data=body)
        except WeChatPayException as exc:
            status = (
                exc.response.status_code if getattr(exc, "response", None) is not None else None
            )
            if status is not None and status >= 500:
                raise PaymentUnavailable(f"WeChat Pay answered {status}") from exc
            code = exc.errcode or exc.return_code
            message = f"{code}: {exc.errmsg or exc.return_msg}"
            if code in TRANSIENT_CODES:
                raise PaymentUnavailable(message, code=code) from exc
            raise PaymentError(message, code=code) from exc
        except requests.RequestException as exc:  # timeouts and connection errors
            raise PaymentUnavailable(f"WeChat Pay unreachable: {exc.__class__.__name__}") from exc

    def create_intent(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        description: str,
        channel: Channel,
        notify_url: str,
        client_ip: str,
        openid: str | None = None,
    ) -> IntentCreated:
        if channel not in TRADE_TYPES:
            raise PaymentError(f"channel {channel} is not a WeChat Pay channel")
        try:
            data = self._call(
                "pay/unifiedorder",
                trade_type=TRADE_TYPES[channel],
                body=description[:120],
                total_fee=amount_fen,
                fee_type="CNY",
                notify_url=notify_url,
                spbill_create_ip=client_ip,
                openid=openid,
                out_trade_no=out_trade_no,
                product_id=out_trade_no if channel == "native" else None,
            )
        except PaymentError as exc:
            if exc.code in ("ORDERPAID", "OUT_TRADE_NO_USED", "ORDERCLOSED"):
                self.explain_used(out_trade_no, amount_fen, exc)
            raise
        client: dict[str, Any] = {"trade_type": data.get("trade_type")}
        if channel == "native":
            client["code_url"] = data["code_url"]
        elif channel == "mweb":
            client["mweb_url"] = data["mweb_url"]
        else:
            client["jsapi"] = self.jsapi_params(data["prepay_id"])
        return IntentCreated(provider_ref=data["prepay_id"], client=client)

    def jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """Parameters for WeixinJSBridge.invoke("getBrandWCPayRequest"), signed HMAC-SHA256."""
        params = {
            "appId": self.client.appid,
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
            "signType": "HMAC-SHA256",
        }
        params["paySign"] = hmac_sha256_sign(params, self.api_key)
        return params

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            data = xmltodict.parse(body)["xml"]
        except Exception as exc:
            raise MalformedNotification("notification is not WeChat Pay XML") from exc
        if not isinstance(data, dict):
            raise MalformedNotification("notification is not WeChat Pay XML")
        if not verify(data, self.api_key):
            raise SignatureInvalid("notification signature does not verify")
        try:
            return Notification(
                out_trade_no=data["out_trade_no"],
                transaction_id=data["transaction_id"],
                amount_fen=int(data["total_fee"]),
                currency=data.get("fee_type", "CNY"),
                paid=data.get("return_code") == "SUCCESS" and data.get("result_code") == "SUCCESS",
                paid_at=_paid_at(data.get("time_end")),
                raw=dict(data),
            )
        except (KeyError, ValueError) as exc:
            raise MalformedNotification(f"notification lacks {exc}") from exc

    def ack(self, ok: bool, message: str = "") -> tuple[int, str, bytes]:
        body = dict_to_xml(
            {
                "return_code": "SUCCESS" if ok else "FAIL",
                "return_msg": message or ("OK" if ok else "FAIL"),
            }
        )
        return 200, "application/xml", body.encode()

    def query(self, out_trade_no: str) -> QueryResult:
        try:
            data = self._call("pay/orderquery", out_trade_no=out_trade_no)
        except PaymentError as exc:
            if "ORDERNOTEXIST" in str(exc):
                return QueryResult("NOT_FOUND", None, None)
            raise
        return QueryResult(
            state=data.get("trade_state", "NOTPAY"),
            transaction_id=data.get("transaction_id"),
            amount_fen=int(data["total_fee"]) if data.get("total_fee") else None,
            paid_at=_paid_at(data.get("time_end")),
        )

    def close(self, out_trade_no: str) -> None:
        self._call("pay/closeorder", out_trade_no=out_trade_no)

    def refund(
        self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> RefundResult:
        data = self._call(
            "secapi/pay/refund",
            total_fee=total_fen,
            refund_fee=refund_fen,
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            refund_desc=reason[:80] or None,
        )
        # v2 only says the refund was accepted; the money moves later (/pay/refundquery).
        return RefundResult(
            out_refund_no, data["refund_id"], int(data["refund_fee"]), status="PROCESSING"
        )

    def refund_status(self, out_refund_no: str) -> RefundResult:
        data = self._call("pay/refundquery", out_refund_no=out_refund_no)
        try:
            return RefundResult(
                out_refund_no,
                data["refund_id_0"],
                int(data["refund_fee_0"]),
                status=data["refund_status_0"],  # SUCCESS, PROCESSING, REFUNDCLOSE, CHANGE
            )
        except (KeyError, ValueError) as exc:
            raise PaymentError(f"refund query answer lacks {exc}") from exc

    def trade_bill(self, day: date) -> str:
        """The merchant's trade bill (对账单, all trades) for ``day``; "" when it has none.

        The bill comes back as text, unsigned; a failure is XML (wechatpy raises on it)."""
        try:
            answer = self._post(
                "pay/downloadbill", bill_date=day.strftime("%Y%m%d"), bill_type="ALL"
            )
        except PaymentError as exc:
            if "No Bill Exist" in str(exc) or "20002" in str(exc):
                return ""
            raise
        if isinstance(answer, bytes):
            answer = answer.decode("utf-8")
        if not isinstance(answer, str):
            raise PaymentUnavailable("WeChat Pay answered the bill request without a bill")
        return answer
