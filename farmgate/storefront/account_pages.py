"""Accounts by SMS on the storefront: 登录/注册 with a code (one flow: number, 获取验证码,
code; a new number makes an account), 我的账号 with an optional password, and 忘记密码 (a
reset by code). No page says whether a number has an account. Works without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.accounts import phone as phone_accounts
from farmgate.accounts import security
from farmgate.accounts import service as accounts
from farmgate.config import settings
from farmgate.errors import FarmgateError, Throttled
from farmgate.models import Account, Role
from farmgate.sms.codes import Purpose
from farmgate.storefront.common import PageAccount, check_csrf, render, see_other
from farmgate.validators import normalize_mobile
from farmgate.web.cookies import set_session_cookie
from farmgate.web.requests import client_ip
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
HOMES: dict[str, str] = {
    Role.COOPERATIVE: "/coop/products",
    Role.COURIER: "/courier",
    Role.ADMIN: "/township",
}
# Each purpose's pages: where the number is asked for, where it is sent, where the code goes.
FLOWS = {
    Purpose.LOGIN: ("/login/phone", "/login/code", "/login/verify"),
    Purpose.RESET: ("/password/reset", "/password/reset/code", "/password/reset/verify"),
}


def safe_next(target: str) -> str:
    # Only same-site paths: never send a signed-in user to another host.
    return target if target.startswith("/") and not target.startswith("//") else "/"


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone


def _fail(response: Response, exc: FarmgateError | ValueError) -> Response:
    response.status_code = exc.status if isinstance(exc, FarmgateError) else 400
    return response


def _message(exc: FarmgateError | ValueError) -> str:
    return exc.message if isinstance(exc, FarmgateError) else str(exc)


def _phone_page(
    request: Request,
    purpose: Purpose,
    phone: str,
    nxt: str,
    error: str | None = None,
    code_pending: bool = False,
) -> Response:
    _start, send, verify = FLOWS[purpose]
    return render(
        request,
        "account/phone.html",
        None,
        reset=purpose == Purpose.RESET,
        phone=phone,
        next=nxt,
        error=error,
        code_pending=code_pending,
        send_url=send,
        verify_url=f"{verify}?{urlencode({'phone': phone, 'next': nxt})}",
    )


def _code_page(
    request: Request,
    purpose: Purpose,
    phone: str,
    nxt: str,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    start, send, verify = FLOWS[purpose]
    return render(
        request,
        "account/code.html",
        None,
        reset=purpose == Purpose.RESET,
        send_url=send,
        verify_action=verify,
        phone=phone,
        masked_phone=masked(phone),
        next=nxt,
        errors=errors or {},
        notice=notice,
        minutes=settings.sms_code_minutes,
        resend_seconds=settings.sms_resend_seconds,
        start_url=f"{start}?{urlencode({'next': nxt})}",
    )


def _send_code(
    request: Request, session: Session, purpose: Purpose, phone: str, nxt: str, resend: str
) -> Response:
    try:
        number = normalize_mobile(phone)
    except ValueError as exc:
        return _fail(_phone_page(request, purpose, phone, nxt, _message(exc)), exc)
    try:
        phone_accounts.request_code(session, number, purpose, client_ip(request))
    except FarmgateError as exc:
        if resend and isinstance(exc, Throttled):
            page = _code_page(request, purpose, number, nxt, {"resend": exc.message})
            return _fail(page, exc)
        # Asked again too soon from the first page: the code sent earlier is still good.
        pending = exc.code == "sms_resend_too_soon"
        page = _phone_page(request, purpose, number, nxt, exc.message, code_pending=pending)
        return _fail(page, exc)
    query = urlencode({"phone": number, "next": nxt, **({"resent": "1"} if resend else {})})
    return see_other(f"{FLOWS[purpose][2]}?{query}")


def _signed_in(session: Session, account: Account, nxt: str) -> Response:
    issued = accounts.issue_token(session, account, "session")
    landing = HOMES.get(account.role, "/") if nxt == "/" else safe_next(nxt)
    response = see_other(landing)
    set_session_cookie(response, issued.token)
    return response


def _number_or_start(purpose: Purpose, phone: str, nxt: str) -> str | Response:
    try:
        return normalize_mobile(phone)
    except ValueError:
        return see_other(f"{FLOWS[purpose][0]}?{urlencode({'next': nxt})}")


def _verify_form(request: Request, purpose: Purpose, phone: str, nxt: str, resent: str) -> Response:
    """The code-entry page of either flow (back to the number page if the number is bad)."""
    number = _number_or_start(purpose, phone, nxt)
    if isinstance(number, Response):
        return number
    notice = "已重新发送验证码" if resent else None
    return _code_page(request, purpose, number, nxt, notice=notice)


def _verified(
    request: Request,
    session: Session,
    purpose: Purpose,
    phone: str,
    nxt: str,
    attempt: Callable[[str], Account],
    landing: str,
) -> Response:
    """Run ``attempt`` with the normalised number: signed in, or the code page with the
    refusal beside its field (a wrong code still counts, so that much is committed)."""
    number = _number_or_start(purpose, phone, nxt)
    if isinstance(number, Response):
        return number
    try:
        account = attempt(number)
    except FarmgateError as exc:
        if exc.commit_anyway:
            session.commit()  # the wrong answer is counted even though this request fails
        field = "password" if "password" in exc.fields else "code"
        page = _code_page(request, purpose, number, nxt, {field: exc.message})
        return _fail(page, exc)
    return _signed_in(session, account, landing)


# --- 登录/注册 by code ---------------------------------------------------------------------


@router.get("/login/phone", response_class=HTMLResponse)
def login_phone(request: Request, next: str = "/") -> Response:
    return _phone_page(request, Purpose.LOGIN, "", safe_next(next))


@router.post("/login/code", response_class=HTMLResponse)
def login_code(
    request: Request,
    session: SessionDep,
    phone: Text,
    csrf_token: Text = "",
    next: Text = "/",
    resend: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    return _send_code(request, session, Purpose.LOGIN, phone, safe_next(next), resend)


@router.get("/login/verify", response_class=HTMLResponse)
def login_verify_form(
    request: Request, phone: str = "", next: str = "/", resent: str = ""
) -> Response:
    return _verify_form(request, Purpose.LOGIN, phone, safe_next(next), resent)


@router.post("/login/verify", response_class=HTMLResponse)
def login_verify(
    request: Request,
    session: SessionDep,
    phone: Text,
    code: Text = "",
    csrf_token: Text = "",
    next: Text = "/",
) -> Response:
    check_csrf(request, csrf_token)
    nxt = safe_next(next)

    def attempt(number: str) -> Account:
        return phone_accounts.sign_in_with_code(session, number, code)

    return _verified(request, session, Purpose.LOGIN, phone, nxt, attempt, nxt)


# --- 忘记密码: reset by code -----------------------------------------------------------------


@router.get("/password/reset", response_class=HTMLResponse)
def reset_phone(request: Request) -> Response:
    return _phone_page(request, Purpose.RESET, "", "/account")


@router.post("/password/reset/code", response_class=HTMLResponse)
def reset_code(
    request: Request, session: SessionDep, phone: Text, csrf_token: Text = "", resend: Text = ""
) -> Response:
    check_csrf(request, csrf_token)
    return _send_code(request, session, Purpose.RESET, phone, "/account", resend)


@router.get("/password/reset/verify", response_class=HTMLResponse)
def reset_verify_form(request: Request, phone: str = "", resent: str = "") -> Response:
    return _verify_form(request, Purpose.RESET, phone, "/account", resent)


@router.post("/password/reset/verify", response_class=HTMLResponse)
def reset_verify(
    request: Request,
    session: SessionDep,
    phone: Text,
    code: Text = "",
    password: Text = "",
    csrf_token: Text = "",
) -> Response:
    check_csrf(request, csrf_token)

    def attempt(number: str) -> Account:
        return phone_accounts.reset_password(session, number, code, password)

    landing = "/account?saved=reset"
    return _verified(request, session, Purpose.RESET, phone, "/account", attempt, landing)


# --- 我的账号 --------------------------------------------------------------------------------


def _account_page(
    request: Request, account: Account, errors: dict[str, str] | None = None, saved: str = ""
) -> Response:
    return render(
        request,
        "account/account.html",
        account,
        masked_phone=masked(account.phone),
        has_password=accounts.has_password(account),
        errors=errors or {},
        saved=saved,
    )


def _signed_in_account(account: Account | None) -> Account | Response:
    if account is None:
        return see_other("/login/phone?next=/account")
    return account


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, account: PageAccount, saved: str = "") -> Response:
    found = _signed_in_account(account)
    if isinstance(found, Response):
        return found
    return _account_page(request, found, saved=saved)


@router.post("/account/password", response_class=HTMLResponse)
def account_password(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    password: Text = "",
    current_password: Text = "",
    csrf_token: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    found = _signed_in_account(account)
    if isinstance(found, Response):
        return found
    errors: dict[str, Any] = {}
    if accounts.has_password(found) and not security.verify_password(
        found.password_hash, current_password
    ):
        errors["current_password"] = "当前密码不正确。忘记了？可以用短信验证码重设"
    else:
        try:
            accounts.set_password(session, found, password)
        except FarmgateError as exc:
            errors["password"] = exc.message
    if errors:
        response = _account_page(request, found, errors)
        response.status_code = 400
        return response
    return see_other("/account?saved=password")
