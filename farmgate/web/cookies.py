"""The cookies both the API and the pages read: the sign-in session and the guest's cart."""

from __future__ import annotations

from fastapi.responses import Response

from farmgate.config import settings

SESSION_COOKIE = "fg_session"
CART_COOKIE = "fg_cart"
CART_DAYS = 30


def set_session_cookie(response: Response, token: str) -> None:
    """Keep a browser signed in for ``settings.session_days``; scripts cannot read it."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


def set_cart_cookie(response: Response, token: str) -> None:
    """Remember a guest's cart for ``CART_DAYS`` days."""
    response.set_cookie(
        CART_COOKIE,
        token,
        max_age=CART_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
