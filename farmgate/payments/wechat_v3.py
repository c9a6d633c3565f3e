"""WeChat Pay API v3 (JSON, RSA-SHA256 both ways, AES-256-GCM notifications) via wechatpayv3.

wechatpayv3 signs requests (``WECHATPAY2-SHA256-RSA2048`` Authorization), verifies answers and
notifications (Wechatpay-Timestamp/Nonce/Signature/Serial, with WeChat's platform public key or
its downloaded platform certificates) and decrypts notification resources. It works with any
locally generated keys. Its gateway, though, is hard-coded: ``Core.__init__`` sets
``_gate_way`` to the production host and, in certificate mode, downloads certificates from it
before returning. ``_GatewayCore`` makes ``_gate_way`` a property so the host is ours from the
first request, and ``_Client`` builds that core in place of ``WeChatPay``'s own (it sets the
same five attributes ``WeChatPay.__init__`` does; pinned to wechatpayv3 2.x).

Added on top: explicit timeouts, transient failures as ``PaymentUnavailable``, a freshness check
on notification timestamps (wechatpayv3 has none) and errors sorted by kind.

Platform certificates are downloaded at construction (start-up) and by
``refresh_platform_certificates`` (the ``payments.refresh_platform_certificates`` periodic job)
only. wechatpayv3 would also download them whenever a notification names a serial it does
not know: an unauthenticated caller could make us call the gateway (slowly, if it is slow)
as often as it likes. An unknown serial is refused at once; a certificate directory that the
job (in another process) wrote to since it was read is read again, a local step.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import wechatpayv3.core
from requests.adapters import HTTPAdapter
from wechatpayv3 import SignType, WeChatPay, WeChatPayType
from wechatpayv3.core import Core

from farmgate import outbound
from farmgate.caching import PerProcess
from farmgate.payments.provider import (
    TRANSIENT_CODES,
    WECHAT_CHANNELS,
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

log = logging.getLogger(__name__)
PRODUCTION = "https://api.mch.weixin.qq.com"
PAY_TYPES = {"native": WeChatPayType.NATIVE, "jsapi": WeChatPayType.JSAPI, "mweb": WeChatPayType.H5}
NOTIFY_HEADERS = ("signature", "timestamp", "nonce", "serial", "signature-type")


def _new_session() -> requests.Session:
    """Keeping no cookies: like a fresh session per call, less the connection and TLS
    handshake made again each time. It keeps as many connections as ``farmgate.outbound``'s
    pools do (requests' default is 10)."""
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_maxsize=outbound.connections_kept())
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_session = PerProcess(_new_session)


class _SessionRequests:
    """Stands in for the ``requests`` module inside ``wechatpayv3.core``, whose ``Core.request``
    calls ``requests.get``/``post``/...: each of those builds a session, a connection pool and
    (over HTTPS) a connection and handshake per call. Here they go through one session."""

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return _session.get().request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return _session.get().request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> requests.Response:
        return _session.get().request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> requests.Response:
        return _session.get().request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return _session.get().request("DELETE", url, **kwargs)


wechatpayv3.core.requests = _SessionRequests()


class _GatewayCore(Core):
    _certificates: list[Any]  # wechatpayv3's Core fills it; declared here for the type checker

    def __init__(self, *, gateway: str, **kwargs: Any) -> None:
        self._gateway = gateway
        self._constructing = True  # the start-up download is the only implicit one
        self._dir_read_at = 0.0
        try:
            super().__init__(**kwargs)
        finally:
            self._constructing = False
        self._dir_read_at = self._dir_mtime()

    def _update_certificates(self) -> None:
        # wechatpayv3 calls this for any unknown serial (see the module docstring).
        if self._constructing:
            super()._update_certificates()

    def _init_certificates(self) -> None:
        try:
            super()._init_certificates()
        except Exception as exc:
            if self._constructing and "No wechatpay platform certificate" in str(exc):
                # The gateway is away at start-up: notifications are refused (WeChat retries
                # them) until the periodic refresh gets the certificates. Failing here would
                # have the next notification build the provider, and download, again.
                log.warning("WeChat Pay platform certificates not downloaded at start-up")
                return
            raise

    def refresh_certificates(self) -> int:
        """Download the platform certificates; a failed download keeps the ones we have.
        The download fills a copy, swapped in whole: a notification verified meanwhile
        never sees the half-filled list wechatpayv3 builds."""
        fetcher = copy.copy(self)
        fetcher._certificates = []
        Core._update_certificates(fetcher)
        if fetcher._certificates:
            self._certificates = fetcher._certificates
        return len(fetcher._certificates)

    def _dir_mtime(self) -> float:
        try:
            return os.stat(self._cert_dir).st_mtime if self._cert_dir else 0.0
        except OSError:
            return 0.0

    def _known(self, serial: str) -> bool:
        try:
            number = int(serial, 16)
        except ValueError:
            return False
        return any(cert.serial_number == number for cert in self._certificates)

    def knows_serial(self, serial: str) -> bool:
        """Whether ``serial`` is the platform public key's id or a certificate we hold."""
        if self._public_key_id and serial == self._public_key_id:
            return True
        if self._known(serial):
            return True
        mtime = self._dir_mtime()
        if mtime and mtime != self._dir_read_at:  # new files from the refresh job
            self._dir_read_at = mtime
            held, self._certificates = self._certificates, []
            try:
                self._init_certificates()  # local files only: downloads are off here
            except Exception:
                pass
            if not self._certificates:
                self._certificates = held
            return self._known(serial)
        return False

    @property
    def _gate_way(self) -> str:
        return self._gateway

    @_gate_way.setter
    def _gate_way(self, value: str) -> None:
        pass  # Core.__init__ assigns the production host; ours stands


class _Client(WeChatPay):
    def __init__(self, *, gateway: str, appid: str, mchid: str, **core: Any) -> None:
        self._type = WeChatPayType.NATIVE
        self._mchid, self._appid = mchid, appid
        self._notify_url = None
        self._partner_mode = False
        self._core = _GatewayCore(gateway=gateway, mchid=mchid, **core)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """wechatpayv3 raises bare ``Exception``s; sort them into the provider errors."""
    try:
        yield
    except PaymentError:
        raise
    except requests.RequestException as exc:  # timeouts, refused connections
        raise PaymentUnavailable(f"WeChat Pay {what}: {exc.__class__.__name__}") from exc
    except Exception as exc:
        text = str(exc)
        if "signature" in text or "algorithm" in text or isinstance(exc, ValueError):
            raise SignatureInvalid(f"WeChat Pay {what}: answer does not verify ({text})") from exc
        if "certificate" in text:  # could not download/verify platform certificates
            raise PaymentUnavailable(f"WeChat Pay {what}: {text}") from exc
        raise PaymentError(f"WeChat Pay {what}: {text}") from exc


def _result(what: str, answer: tuple[int, Any]) -> dict[str, Any]:
    """A verified 2xx body as a dict; refusals and outages as errors."""
    status, body = answer
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if 200 <= status < 300:
        try:
            return json.loads(body) if body else {}
        except ValueError as exc:
            raise PaymentUnavailable(f"WeChat Pay {what}: unreadable answer") from exc
    try:
        error = json.loads(body) if body else {}
    except ValueError:
        error = {}
    code = str(error.get("code") or status)
    message = f"{code}: {error.get('message', '')}"
    if status >= 500 or status == 429 or code in TRANSIENT_CODES:
        raise PaymentUnavailable(f"WeChat Pay {what} answered {status} {message}", code=code)
    raise PaymentError(message, code=code)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None  # RFC 3339 with +08:00


class WeChatPayV3(PaymentProvider):
    name = "wechat_v3"

    def __init__(
        self,
        *,
        appid: str,
        mchid: str,
        merchant_private_key: str,
        merchant_serial_no: str,
        apiv3_key: str,
        platform_public_key: str | None = None,
        platform_public_key_id: str | None = None,
        platform_cert_dir: str | None = None,
        base_url: str | None = None,
        timeout: float = 10,
        notify_max_age: float = 300,
        profit_sharing: bool = False,
    ) -> None:
        """Verification uses WeChat's platform public key when ``platform_public_key`` and
        its id are given; otherwise platform certificates, read from ``platform_cert_dir`` or
        downloaded from /v3/certificates (at construction, hence the errors it may raise).
        ``notify_max_age``: seconds a notification's Wechatpay-Timestamp may be off by.
        ``profit_sharing``: create payments with settle_info.profit_sharing=true (分账): WeChat
        Pay freezes their money until it is shared and the rest unfrozen."""
        self.appid, self.mchid = appid, mchid
        self.profit_sharing = profit_sharing
        self.notify_max_age = notify_max_age
        with _translated("setup"):
            self.client = _Client(
                gateway=(base_url or PRODUCTION).rstrip("/"),
                appid=appid,
                mchid=mchid,
                cert_serial_no=merchant_serial_no,
                private_key=merchant_private_key,
                apiv3_key=apiv3_key,
                cert_dir=platform_cert_dir,
                timeout=timeout,
                public_key=platform_public_key,
                public_key_id=platform_public_key_id,
            )

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
        if channel not in WECHAT_CHANNELS:
            raise PaymentError(f"channel {channel} is not a WeChat Pay channel")
        if channel == "jsapi" and not openid:
            raise PaymentError("JSAPI needs the payer's openid")
        scene: dict[str, Any] = {"payer_client_ip": client_ip}
        if channel == "mweb":
            scene["h5_info"] = {"type": "Wap"}
        try:
            with _translated("create"):
                data = _result(
                    "create",
                    self.client.pay(
                        description=description[:127],
                        out_trade_no=out_trade_no,
                        amount={"total": amount_fen, "currency": "CNY"},
                        payer={"openid": openid} if channel == "jsapi" else None,
                        scene_info=scene,
                        notify_url=notify_url,
                        pay_type=PAY_TYPES[channel],
                        settle_info={"profit_sharing": True} if self.profit_sharing else None,
                    ),
                )
        except PaymentError as exc:
            if exc.code in ("ORDERPAID", "OUT_TRADE_NO_USED", "ORDER_CLOSED"):
                self.explain_used(out_trade_no, amount_fen, exc)
            raise
        # v3 answers NATIVE and H5 with a URL and no prepay id: the trade number stands in.
        if channel == "native":
            return IntentCreated(out_trade_no, {"trade_type": "NATIVE", **data})
        if channel == "mweb":
            return IntentCreated(out_trade_no, {"trade_type": "MWEB", "mweb_url": data["h5_url"]})
        prepay_id = data["prepay_id"]
        return IntentCreated(
            prepay_id, {"trade_type": "JSAPI", "jsapi": self.jsapi_params(prepay_id)}
        )

    def jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """Parameters for WeixinJSBridge.invoke("getBrandWCPayRequest"), signed RSA."""
        params = {
            "appId": self.appid,
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        message = [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
        params["paySign"] = self.client.sign(message, SignType.RSA_SHA256)
        return params

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        lower = {k.lower(): v for k, v in headers.items()}
        if any(not lower.get(f"wechatpay-{h}") for h in NOTIFY_HEADERS):
            raise SignatureInvalid("notification lacks Wechatpay-* signature headers")
        try:
            skew = abs(time.time() - int(lower["wechatpay-timestamp"]))
        except ValueError as exc:
            raise SignatureInvalid("notification timestamp is not a number") from exc
        if skew > self.notify_max_age:  # an old, replayed notification
            raise SignatureInvalid(f"notification timestamp is {skew:.0f} s off")
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            well_formed = (
                envelope["resource_type"] == "encrypt-resource"
                and resource["algorithm"] == "AEAD_AES_256_GCM"
                and bool(resource["nonce"] and resource["ciphertext"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedNotification("notification is not a WeChat Pay v3 event") from exc
        if not well_formed:
            raise MalformedNotification("notification is not an AES-256-GCM encrypted resource")
        if not self.client._core.knows_serial(lower["wechatpay-serial"]):
            raise SignatureInvalid("notification names an unknown platform certificate serial")
        with _translated("notification"):
            # None: the RSA signature, or the AES-GCM tag (bad key or tampered), failed.
            plain = self.client.decrypt_callback(lower, body.decode("utf-8"))
        if not plain:
            raise SignatureInvalid("notification signature or encryption does not verify")
        try:
            data = json.loads(plain)
            amount = data["amount"]
            return Notification(
                out_trade_no=data["out_trade_no"],
                transaction_id=data["transaction_id"],
                amount_fen=int(amount["total"]),
                currency=amount.get("currency", "CNY"),
                paid=envelope.get("event_type") == "TRANSACTION.SUCCESS"
                and data.get("trade_state") == "SUCCESS",
                paid_at=_time(data.get("success_time")),
                raw={"event": {k: v for k, v in envelope.items() if k != "resource"}, **data},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedNotification(f"notification resource lacks {exc}") from exc

    def refresh_platform_certificates(self) -> int:
        """Download the platform certificates again (certificate mode; the periodic job).
        Returns how many are held; 0 in public-key mode, which needs none."""
        core = self.client._core
        if core._public_key is not None:
            return 0
        with _translated("certificates"):
            fetched = core.refresh_certificates()
        if not fetched:
            raise PaymentUnavailable("WeChat Pay certificates: none downloaded")
        return fetched

    def ack(self, ok: bool, message: str = "") -> tuple[int, str, bytes]:
        """v3: 2xx with no body accepts; 4xx/5xx with {"code": "FAIL"} asks for a retry."""
        if ok:
            return 204, "application/json", b""
        body = json.dumps({"code": "FAIL", "message": message or "失败"}, ensure_ascii=False)
        return 400, "application/json", body.encode()

    def query(self, out_trade_no: str) -> QueryResult:
        try:
            with _translated("query"):
                data = _result("query", self.client.query(out_trade_no=out_trade_no))
        except PaymentError as exc:
            if exc.code == "ORDER_NOT_EXIST" or exc.code == "RESOURCE_NOT_EXISTS":
                return QueryResult("NOT_FOUND", None, None)
            raise
        total = (data.get("amount") or {}).get("total")
        return QueryResult(
            state=data.get("trade_state", "NOTPAY"),
            transaction_id=data.get("transaction_id"),
            amount_fen=int(total) if total is not None else None,
            paid_at=_time(data.get("success_time")),
        )

    def close(self, out_trade_no: str) -> None:
        with _translated("close"):
            _result("close", self.client.close(out_trade_no=out_trade_no))

    def refund(
        self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> RefundResult:
        with _translated("refund"):
            data = _result(
                "refund",
                self.client.refund(
                    out_refund_no=out_refund_no,
                    amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
                    out_trade_no=out_trade_no,
                    reason=reason[:80] or None,
                ),
            )
        return _refund_result(data)

    def refund_status(self, out_refund_no: str) -> RefundResult:
        with _translated("refund query"):
            data = _result("refund query", self.client.query_refund(out_refund_no=out_refund_no))
        return _refund_result(data)

    def trade_bill(self, day: date) -> str:
        """The merchant's trade bill for ``day``: asked for, then downloaded (gzip) and checked
        against the SHA1 WeChat gave; "" when the day has none."""
        try:
            with _translated("bill"):
                where = _result(
                    "bill",
                    self.client.trade_bill(
                        bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP"
                    ),
                )
        except PaymentError as exc:
            if exc.code == "NO_STATEMENT_EXIST":
                return ""
            raise
        with _translated("bill download"):
            status, content = self.client.download_bill(where["download_url"])
        if status != 200:
            raise PaymentUnavailable(f"WeChat Pay bill download answered {status}")
        raw = content if isinstance(content, bytes) else str(content).encode()
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise PaymentUnavailable("WeChat Pay bill is not the gzip file asked for") from exc
        expected = str(where.get("hash_value", "")).lower()
        if where.get("hash_type", "SHA1") == "SHA1" and hashlib.sha1(raw).hexdigest() != expected:
            raise PaymentUnavailable("WeChat Pay bill does not match its SHA1")
        return raw.decode("utf-8")


def _refund_result(data: dict[str, Any]) -> RefundResult:
    try:
        return RefundResult(
            out_refund_no=data["out_refund_no"],
            refund_id=data["refund_id"],
            refund_fen=int(data["amount"]["refund"]),
            status=data.get("status", "PROCESSING"),  # SUCCESS, PROCESSING, CLOSED, ABNORMAL
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentError(f"refund answer lacks {exc}") from exc
