"""Tencent Cloud SMS (短信, API version 2021-01-11): ``SendSms`` over HTTPS, signed with
TC3-HMAC-SHA256 (Tencent Cloud API "Signature v3").

The request is a JSON POST to ``https://sms.tencentcloudapi.com/`` with the headers
``X-TC-Action: SendSms``, ``X-TC-Version``, ``X-TC-Timestamp``, ``X-TC-Region`` and an
``Authorization`` made from a canonical request over the signed headers (``content-type;host``)
and the body's SHA-256, under a key derived from the secret key, the UTC date and the service.
An answer is ``{"Response": {...}}``: a failed call carries ``Response.Error.Code``
(``AuthFailure.SignatureFailure``, ``RequestLimitExceeded``...), an accepted one a
``SendStatusSet`` with one entry per number whose ``Code`` is ``Ok`` or the reason it was not
sent (``InvalidParameterValue.IncorrectPhoneNumber``, ``LimitExceeded.PhoneNumberDailyLimit``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from farmgate import outbound
from farmgate.sms.sender import SentSms, SmsError, SmsUnavailable

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "sms"
VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host"
# Codes worth retrying later: throttled, busy, or failing on Tencent's side.
TRANSIENT_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "InternalError",
        "InternalError.Timeout",
        "InternalError.RequestTimeException",
        "InternalError.SendAndRecvFail",
        "InternalError.OtherError",
        "FailedOperation.FailResolvePacket",
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "LimitExceeded.PhoneNumberOneHourLimit",
        "ResourceUnavailable",
    }
)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Tc3Signature:
    credential_scope: str
    signature: str
    authorization: str


def tc3_sign(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    payload: bytes,
    timestamp: int,
    content_type: str = CONTENT_TYPE,
    method: str = "POST",
) -> Tc3Signature:
    """The TC3-HMAC-SHA256 signature of a POST to ``/`` signing ``content-type;host``."""
    canonical_request = "\n".join(
        [
            method,
            "/",
            "",  # the query string: empty for a POST
            f"content-type:{content_type}\nhost:{host}\n",
            SIGNED_HEADERS,
            _sha256_hex(payload),
        ]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode())]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
    )
    return Tc3Signature(scope, signature, authorization)


def parse_authorization(header: str) -> dict[str, str] | None:
    """``Credential``, ``SignedHeaders`` and ``Signature`` of an Authorization header."""
    if not header.startswith(ALGORITHM + " "):
        return None
    parts: dict[str, str] = {}
    for item in header[len(ALGORITHM) + 1 :].split(","):
        name, _, value = item.strip().partition("=")
        parts[name] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        return None
    return parts


def e164(phone: str) -> str:
    """A mainland number as Tencent wants it: ``+86`` and the 11 digits."""
    return phone if phone.startswith("+") else "+86" + phone


class TencentSms:
    """``SmsSender`` for Tencent Cloud SMS (or anything speaking its API, like the simulator)."""

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        base_url: str = "https://sms.tencentcloudapi.com",
        region: str = "ap-guangzhou",
        timeout: float = 10,
    ) -> None:
        self.secret_id, self.secret_key = secret_id, secret_key
        self.sdk_app_id, self.sign_name = sdk_app_id, sign_name
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.region = region
        self.timeout = timeout

    def _call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        signed = tc3_sign(
            secret_id=self.secret_id,
            secret_key=self.secret_key,
            service=SERVICE,
            host=self.host,
            payload=payload,
            timestamp=timestamp,
        )
        headers = {
            "Authorization": signed.authorization,
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": action,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": self.region,
        }
        try:
            response = outbound.request(
                "POST", self.base_url + "/", body=payload, headers=headers, timeout=self.timeout
            )
        except outbound.Unreachable as exc:
            if exc.timed_out:
                raise SmsUnavailable(f"短信网关超时：{exc}", "Timeout") from exc
            raise SmsUnavailable(f"无法连接短信网关：{exc}", "ConnectError") from exc
        if response.status >= 500:
            raise SmsUnavailable(f"短信网关 HTTP {response.status}", "HttpError")
        try:
            answer = json.loads(response.data)["Response"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SmsUnavailable(
                f"短信网关的回答无法解析（HTTP {response.status}）", "BadAnswer"
            ) from exc
        error = answer.get("Error")
        if error:
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            kind = SmsUnavailable if code in TRANSIENT_CODES else SmsError
            raise kind(message, code)
        result: dict[str, Any] = answer
        return result

    def send(self, phone: str, template_id: str, params: list[str]) -> SentSms:
        answer = self._call(
            "SendSms",
            {
                "PhoneNumberSet": [e164(phone)],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": template_id,
                "TemplateParamSet": params,
            },
        )
        statuses = answer.get("SendStatusSet") or []
        if not statuses:
            raise SmsUnavailable("短信网关没有返回发送状态", "NoStatus")
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code != "Ok":
            kind = SmsUnavailable if code in TRANSIENT_CODES else SmsError
            raise kind(str(status.get("Message", "")), code)
        return SentSms(serial_no=str(status.get("SerialNo", "")), phone=phone)
