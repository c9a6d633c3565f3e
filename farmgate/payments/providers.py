"""Which payment providers this installation uses, built from the settings.

An intent records the provider that created it (``wechat_v2``, ``wechat_v3`` or ``cash``), so a
refund or a reconciliation always speaks to the provider the money went through, even after
the merchant moves from API v2 to v3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from farmgate.config import settings
from farmgate.errors import FarmgateError
from farmgate.payments.cash import CashProvider
from farmgate.payments.provider import PaymentProvider
from farmgate.payments.wechat_v2 import WeChatPayV2
from farmgate.payments.wechat_v3 import WeChatPayV3

_cache: dict[str, PaymentProvider] = {}
_cached_for: tuple[Any, ...] = ()


class PaymentFailed(FarmgateError):
    status = 502
    code = "payment_failed"


def _pem(value: str | None) -> str | None:
    """A PEM given inline (``-----BEGIN ...``) or as the path of a file holding it."""
    if not value or value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()


def _not_configured(version: str) -> PaymentFailed:
    return PaymentFailed(
        f"微信支付（{version}）尚未配置", code="payment_not_configured", status=503
    )


def _build(name: str) -> PaymentProvider:
    s = settings
    if name == "wechat_v2":
        if not (s.wechat_appid and s.wechat_mch_id and s.wechat_api_key):
            raise _not_configured("v2")
        return WeChatPayV2(
            appid=s.wechat_appid,
            mch_id=s.wechat_mch_id,
            api_key=s.wechat_api_key,
            base_url=s.wechat_api_base,
            timeout=s.payment_http_timeout,
            mch_cert=s.wechat_mch_cert,
            mch_key=s.wechat_mch_key,
        )
    if name == "wechat_v3":
        if not (
            s.wechat_appid
            and s.wechat_mch_id
            and s.wechat_apiv3_key
            and s.wechat_private_key
            and s.wechat_serial_no
        ):
            raise _not_configured("v3")
        return WeChatPayV3(
            appid=s.wechat_appid,
            mchid=s.wechat_mch_id,
            merchant_private_key=_pem(s.wechat_private_key) or "",
            merchant_serial_no=s.wechat_serial_no,
            apiv3_key=s.wechat_apiv3_key,
            platform_public_key=_pem(s.wechat_platform_public_key),
            platform_public_key_id=s.wechat_platform_public_key_id,
            platform_cert_dir=s.wechat_platform_cert_dir,
            base_url=s.wechat_api_base,
            timeout=s.payment_http_timeout,
            profit_sharing=s.profit_sharing,
        )
    if name == "cash":
        return CashProvider("station")
    raise ValueError(f"unknown payment provider {name!r}")


def provider(name: str) -> PaymentProvider:
    """The provider called ``name``, built once per configuration (v3 may fetch certificates)."""
    global _cached_for
    s = settings
    config = (
        s.wechat_appid,
        s.wechat_mch_id,
        s.wechat_api_key,
        s.wechat_apiv3_key,
        s.wechat_private_key,
        s.wechat_serial_no,
        s.wechat_platform_public_key,
        s.wechat_platform_cert_dir,
        s.wechat_api_base,
        s.payment_http_timeout,
        s.profit_sharing,
    )
    if config != _cached_for:  # settings changed (tests, the demo's simulator): drop old clients
        _cache.clear()
        _cached_for = config
    if name not in _cache:
        _cache[name] = _build(name)
    return _cache[name]


def wechat_name() -> str:
    return f"wechat_{settings.wechat_pay_version}"


def wechat() -> PaymentProvider:
    """The WeChat Pay provider new intents go to."""
    return provider(wechat_name())


def cash() -> CashProvider:
    found = provider("cash")
    assert isinstance(found, CashProvider)
    return found
