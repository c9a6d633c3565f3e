"""Who is calling: by bearer token (API clients) or session cookie (browsers), and their role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.errors import AuthenticationRequired, PermissionDenied
from farmgate.models import Account, Role
from farmgate.web.cookies import SESSION_COOKIE
from farmgate.web.session import SAFE_METHODS, SessionDep
from farmgate.web.unit import reads_in_unit

CSRF_HEADER = "X-CSRF-Token"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@reads_in_unit
def get_optional_account(request: Request, session: SessionDep) -> Account | None:
    """The caller: by bearer token (API clients) or by session cookie (browsers).

    A cookie-authenticated request that changes something must carry the session's CSRF
    token in the ``X-CSRF-Token`` header; bearer tokens are not sent by browsers on their own,
    so they need none.
    """
    token = bearer_token(request)
    if token is not None:
        account = accounts.resolve_token(session, token, "api")
        if account is None:
            raise AuthenticationRequired("登录凭证无效或已过期，请重新登录", code="invalid_token")
        return account
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    account = accounts.resolve_token(session, cookie, "session")
    if account is None:
        return None
    if request.method not in SAFE_METHODS and not security.csrf_valid(
        cookie, request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDenied("请求缺少有效的 CSRF 令牌，请刷新页面后重试", code="csrf_failed")
    return account


OptionalAccount = Annotated[Account | None, Depends(get_optional_account)]


# The role checks below are async: they only look at the account already resolved (no I/O),
# and FastAPI runs a plain ``def`` dependency in a thread-pool call of its own, per request.
async def get_current_account(account: OptionalAccount) -> Account:
    if account is None:
        raise AuthenticationRequired("请先登录")
    return account


CurrentAccount = Annotated[Account, Depends(get_current_account)]


async def get_cooperative_staff(account: CurrentAccount) -> Account:
    if account.role != Role.COOPERATIVE or account.cooperative_id is None:
        raise PermissionDenied("需要合作社账号")
    return account


async def get_admin(account: CurrentAccount) -> Account:
    if account.role != Role.ADMIN:
        raise PermissionDenied("需要乡镇管理员账号")
    return account


CurrentCooperativeStaff = Annotated[Account, Depends(get_cooperative_staff)]
CurrentAdmin = Annotated[Account, Depends(get_admin)]
