"""The interface every SMS gateway sits behind, and the configured one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from farmgate.config import settings


class SmsError(Exception):
    """A definitive refusal (an invalid number, a daily limit, bad credentials): no retry will
    help. ``code`` is the gateway's error code (``InvalidParameterValue.IncorrectPhoneNumber``)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code


class SmsUnavailable(SmsError):
    """Transient: a timeout, a 5xx, throttling. Try again later."""


@dataclass(frozen=True)
class SentSms:
    serial_no: str  # the gateway's id of the message
    phone: str


class SmsSender(Protocol):
    def send(self, phone: str, template_id: str, params: list[str]) -> SentSms:
        """Send template ``template_id`` filled with ``params`` to the mainland ``phone``."""
        ...


class SmsNotConfigured(SmsError):
    """No gateway configured (FARMGATE_SMS_SECRET_ID unset)."""


def configured_sender() -> SmsSender:
    """The sender the settings describe (Tencent Cloud SMS, or the simulator speaking it)."""
    if not (settings.sms_secret_id and settings.sms_secret_key and settings.sms_sdk_app_id):
        raise SmsNotConfigured(
            "短信服务未配置（FARMGATE_SMS_SECRET_ID / SECRET_KEY / SDK_APP_ID）", "NotConfigured"
        )
    from farmgate.sms.tencent import TencentSms

    return TencentSms(
        secret_id=settings.sms_secret_id,
        secret_key=settings.sms_secret_key,
        sdk_app_id=settings.sms_sdk_app_id,
        sign_name=settings.sms_sign_name,
        base_url=settings.sms_api_base or "https://sms.tencentcloudapi.com",
        region=settings.sms_region,
        timeout=settings.sms_http_timeout,
    )
