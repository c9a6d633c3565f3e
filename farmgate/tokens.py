"""Opaque tokens (sign-in sessions, anonymous carts) and the digest we store instead of them."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from farmgate.config import settings


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def order_link_secret(number: str) -> str:
    """The secret in a guest's order-page link (``/orders/<number>?t=...``)."""
    mac = hmac.new(settings.secret_key.encode(), f"order:{number}".encode(), hashlib.sha256)
    return mac.hexdigest()[:24]
