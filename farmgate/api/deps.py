"""Annotated dependencies: the database session (the only place that commits) and the caller."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.db import READ_ONLY, session_factory
from farmgate.errors import AuthenticationRequired, FarmgateError, PermissionDenied
from farmgate.models import Account, Role

SESSION_COOKIE = "fg_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed if the endpoint succeeds, else rolled back.

    Errors flagged ``commit_anyway`` (failed sign-ins counted for throttling) still commit.
    """
    session = session_factory()()
    if request.method in SAFE_METHODS:
        session.connection(execution_options=READ_ONLY)
    try:
        yield session
        session.commit()
    except FarmgateError as exc:
        if exc.context.get("commit_anyway"):
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit BEFORE the response is sent. FastAPI's default ("request") would
# commit after it, so a client could be told "done" about a write that then fails, and its
# next request (say the redirect after a form) could read the database before the commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# Endpoints that use the database are plain ``def`` (run in the thread pool): blocking database
# calls on the event loop would stall every other request, and on SQLite could deadlock with a
# request whose commit the loop must schedule. They read bodies through these async pieces.
async def _raw_body(request: Request) -> bytes:
    return await request.body()


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items()}


RawBody = Annotated[bytes, Depends(_raw_body)]
FormValues = Annotated[dict[str, str], Depends(_form_values)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


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


def get_current_account(account: OptionalAccount) -> Account:
    if account is None:
        raise AuthenticationRequired("请先登录")
    return account


CurrentAccount = Annotated[Account, Depends(get_current_account)]


def get_cooperative_staff(account: CurrentAccount) -> Account:
    if account.role != Role.COOPERATIVE or account.cooperative_id is None:
        raise PermissionDenied("需要合作社账号")
    return account


def get_admin(account: CurrentAccount) -> Account:
    if account.role != Role.ADMIN:
        raise PermissionDenied("需要乡镇管理员账号")
    return account


CurrentCooperativeStaff = Annotated[Account, Depends(get_cooperative_staff)]
CurrentAdmin = Annotated[Account, Depends(get_admin)]


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def files(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for an endpoint that answers with a file: its media types, not JSON."""
    return {200: {"content": {media_type: {} for media_type in media_types}}}


def content_disposition(filename: str) -> str:
    """``attachment`` with the name twice: an ASCII fallback with every character that could
    end the quoted string or the header (quotes, backslashes, CR/LF, other controls, ``;``,
    ``%``) replaced, and the full name in RFC 5987 form; path separators never survive."""
    name = "".join(
        "_" if c in "/\\" or unicodedata.category(c).startswith("C") else c for c in filename
    )
    fallback = "".join(c if " " <= c <= "~" and c not in '"%;' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(body: bytes | str, media_type: str, filename: str) -> Response:
    """A file to save, its name also in RFC 5987 form for names that are not ASCII."""
    disposition = content_disposition(filename)
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
