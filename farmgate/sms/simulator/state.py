"""The simulator's memory: the account it made up, its templates, the messages, the faults."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

FAULTS = frozenset(
    {
        "timeout",  # the next SendSms stalls for timeout_seconds, then fails, sending nothing
        "error_500",  # the next SendSms answers HTTP 502 with no JSON
        "throttled",  # ... answers Error RequestLimitExceeded (the API's frequency limit)
        "daily_limit",  # ... the number's status is LimitExceeded.PhoneNumberDailyLimit
        "invalid_number",  # ... the number's status is InvalidParameterValue.IncorrectPhoneNumber
    }
)
LOGIN_TEMPLATE = "2000001"
RESET_TEMPLATE = "2000002"
ORDER_NOTICE_TEMPLATE = "2000003"  # order notifications (farmgate/notify/)
TEMPLATES = {
    LOGIN_TEMPLATE: "您的验证码是{1}，{2}分钟内有效。如非本人操作，请忽略本短信。",
    RESET_TEMPLATE: "您正在重设密码，验证码是{1}，{2}分钟内有效。请勿告诉他人。",
    ORDER_NOTICE_TEMPLATE: "您的订单{1}{2}，详情：{3}",
}


@dataclass(frozen=True)
class SentMessage:
    serial_no: str
    phone: str  # as sent: +86 and 11 digits
    sign_name: str
    template_id: str
    params: list[str]
    text: str
    at: datetime


@dataclass
class SmsSimState:
    secret_id: str = field(default_factory=lambda: "AKIDsim" + secrets.token_hex(12))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16))
    sdk_app_id: str = "1400000000"
    sign_name: str = "乡村好物"
    templates: dict[str, str] = field(default_factory=lambda: dict(TEMPLATES))
    messages: list[SentMessage] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (phone, error code)
    faults: list[str] = field(default_factory=list)
    timeout_seconds: float = 2.0

    def take_fault(self, *names: str) -> str | None:
        for i, name in enumerate(self.faults):
            if name in names:
                del self.faults[i]
                return name
        return None
