"""What every page shares: the signed-in account, CSRF-protected forms and rendering."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.config import settings
from farmgate.errors import AuthenticationRequired, PermissionDenied
from farmgate.models import Account, Role
from farmgate.storefront.templating import templates
from farmgate.web.cookies import SESSION_COOKIE
from farmgate.web.session import SessionDep
from farmgate.web.unit import hands_reads_to_unit, reads_in_unit

STATIC_DIR = Path(__file__).parent / "static"
ANON_COOKIE = "fg_anon"


def signed_in(request: Request, session: Session) -> Account | None:
    """The account the session cookie names; None without one (no query then). What
    :data:`PageAccount` gives, for a page that opens its own unit and so takes no dependency."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return accounts.resolve_token(session, cookie, "session") if cookie else None


_signed_in = reads_in_unit(signed_in)


@hands_reads_to_unit
async def page_account(request: Request, session: SessionDep) -> Account | None:
    """The signed-in account; an anonymous visitor (no session cookie, most of the catalogue's
    readers) costs no thread-pool call and no query."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    return await run_in_threadpool(_signed_in, request=request, session=session)


PageAccount = Annotated[Account | None, Depends(page_account)]


def page_user(account: Account | None, role: Role, message: str) -> Account:
    """The signed-in account if it has ``role`` (cooperative staff: with their cooperative)."""
    if account is None:
        raise AuthenticationRequired("请先登录")
    if account.role != role or (role == Role.COOPERATIVE and account.cooperative_id is None):
        raise PermissionDenied(message)
    return account


def csrf_anchor(request: Request) -> str:
    """Forms are bound to the session, or before sign-in to an anonymous browser cookie."""
    anchor = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)
    if not anchor:
        anchor = request.state.__dict__.setdefault("new_anon", secrets.token_urlsafe(24))
    return anchor


def check_csrf(request: Request, token: str) -> None:
    if not security.csrf_valid(csrf_anchor(request), token):
        raise PermissionDenied("页面已过期，请刷新后重试", code="csrf_failed")


class LazyCsrfToken:
    """The form token, made only when a template prints it: a page without a form (most pages
    an anonymous visitor reads) then sets no cookie and can be kept by a shared cache."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return security.csrf_token_for(csrf_anchor(self.request))

    __html__ = __str__  # Jinja prints it as it is (hex digits)


def check_same_origin_or_csrf(request: Request, token: str) -> None:
    """For the few forms on cacheable pages (add to cart): a valid token, or a browser's own
    ``Origin`` header naming this site (OWASP's standard-header defence; every current browser,
    WeChat's included, sends it on a POST). A cross-site page can forge neither."""
    if token:
        check_csrf(request, token)
        return
    origin = request.headers.get("origin")
    own = {settings.public_base_url.rstrip("/"), f"{request.url.scheme}://{request.url.netloc}"}
    if origin is None or origin.rstrip("/") not in own:
        raise PermissionDenied("页面已过期，请刷新后重试", code="csrf_failed")


def render(request: Request, name: str, account: Account | None, **context: Any) -> Response:
    context.update(account=account, csrf_token=LazyCsrfToken(request))
    response = templates.TemplateResponse(request, name, context)
    new_anon = request.state.__dict__.get("new_anon")
    if new_anon:
        response.set_cookie(
            ANON_COOKIE, new_anon, httponly=True, samesite="lax", secure=settings.secure_cookies
        )
    return response


def see_other(url: str) -> Response:
    """After a form: on to ``url`` (303, so reloading the page does not send the form again)."""
    return RedirectResponse(url, status_code=303)
