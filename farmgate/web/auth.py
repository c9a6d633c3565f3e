"""Who is calling: by bearer token (API clients) or session cookie (browsers), and their role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.errors import AuthenticationRequired, PermissionDenied
from farmgate.models import Account, Role
from farmgate.web.cookies import SESSION_COOKIE
from farmgate.web.session import SAFE_METHODS, SessionDep
from farmgate.web.unit import defer, defers_reads, passes_deferred, then

CSRF_HEADER = "X-CSRF-Token"
_CALLER = "farmgate_caller"  # in the request's session.info: what get_optional_account gave


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@defers_reads
async def get_optional_account(request: Request, session: SessionDep) -> Account | None:
    """The caller: by bearer token (API clients) or by session cookie (browsers).

    A cookie-authenticated request that changes something must carry the session's CSRF
    token in the ``X-CSRF-Token`` header; bearer tokens are not sent by browsers on their own,
    so they need none.

    Without either, None at once. Otherwise the token is looked up by the endpoint's own
    thread-pool call, first thing, and not in a call of its own (farmgate/web/unit.defer):
    the endpoint (and any dependency that takes the caller) then gets the account. A 401 for
    a missing token, and for a bad one, still comes before anything is read or written;
    a bad token with an invalid body gets the 422.
    """
    if _CALLER in session.info:  # asked already in this request: read once
        return session.info[_CALLER]  # type: ignore[no-any-return]
    token = bearer_token(request)
    # None, or the Deferred read of the account (typed as the account it gives).
    caller: Account | None = None
    if token is not None or request.cookies.get(SESSION_COOKIE):
        caller = defer(session, lambda read_in: _caller(request, read_in, token))
    session.info[_CALLER] = caller
    return caller


def _caller(request: Request, session: Session, token: str | None) -> Account | None:
    if token is not None:
        account = accounts.resolve_token(session, token, "api")
        if account is None:
            raise AuthenticationRequired("登录凭证无效或已过期，请重新登录", code="invalid_token")
        return account
    cookie = request.cookies[SESSION_COOKIE]
    account = accounts.resolve_token(session, cookie, "session")
    if account is None:
        return None
    if request.method not in SAFE_METHODS and not security.csrf_valid(
        cookie, request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDenied("请求缺少有效的 CSRF 令牌，请刷新页面后重试", code="csrf_failed")
    return account


OptionalAccount = Annotated[Account | None, Depends(get_optional_account)]


# The role checks below are async: they only look at the account (no I/O), and FastAPI runs
# a plain ``def`` dependency in a thread-pool call of its own, per request. With no
# credentials at all the 401 is immediate; otherwise each check runs right after the token's
# lookup, in the endpoint's thread-pool call.
@defers_reads
async def get_current_account(request: Request, session: SessionDep) -> Account:
    """The caller, who must be signed in: ``get_optional_account``, called here rather than
    depended on, so that FastAPI solves one dependency fewer on every signed-in request."""
    return then(await get_optional_account(request, session), _signed_in)  # type: ignore[no-any-return]


def _signed_in(account: Account | None) -> Account:
    if account is None:
        raise AuthenticationRequired("请先登录")
    return account


CurrentAccount = Annotated[Account, Depends(get_current_account)]


@passes_deferred
async def get_cooperative_staff(account: CurrentAccount) -> Account:
    return then(account, _cooperative_staff)  # type: ignore[no-any-return]


def _cooperative_staff(account: Account) -> Account:
    if account.role != Role.COOPERATIVE or account.cooperative_id is None:
        raise PermissionDenied("需要合作社账号")
    return account


@passes_deferred
async def get_admin(account: CurrentAccount) -> Account:
    return then(account, _admin)  # type: ignore[no-any-return]


def _admin(account: Account) -> Account:
    if account.role != Role.ADMIN:
        raise PermissionDenied("需要乡镇管理员账号")
    return account


CurrentCooperativeStaff = Annotated[Account, Depends(get_cooperative_staff)]
CurrentAdmin = Annotated[Account, Depends(get_admin)]
