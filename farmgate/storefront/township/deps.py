"""What every console page takes: the signed-in township admin, the session, form values."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from farmgate.errors import AuthenticationRequired, FarmgateError, PermissionDenied
from farmgate.models import Account, Role
from farmgate.storefront.common import PageAccount, check_csrf, render, see_other
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

__all__ = [
    "ConsoleAdmin",
    "FormValues",
    "SessionDep",
    "check_csrf",
    "console_page",
    "nav",
    "see_other",
    "undo_refusal",
]


async def console_admin(account: PageAccount) -> Account:
    """The signed-in township admin; anyone else is refused (signed out: the sign-in page)."""
    if account is None:
        raise AuthenticationRequired("请先登录")
    if account.role != Role.ADMIN:
        raise PermissionDenied("这个页面只供乡镇管理员使用")
    return account


ConsoleAdmin = Annotated[Account, Depends(console_admin)]

# (key, label, url): the console's sections, in the order of a working day.
NAV: tuple[tuple[str, str, str], ...] = (
    ("today", "今日待办", "/township"),
    ("review", "审核", "/township/review"),
    ("orders", "订单与资金", "/township/orders"),
    ("trace", "预警与召回", "/township/alerts"),
    ("couriers", "配送员", "/township/couriers"),
    ("stations", "服务站", "/township/stations"),
    ("reviews", "评价", "/township/reviews"),
    ("search", "搜索词", "/township/search-words"),
    ("ops", "任务与日志", "/township/jobs"),
)


def nav() -> tuple[tuple[str, str, str], ...]:
    return NAV


def console_page(
    request: Request,
    admin: Account,
    template: str,
    *,
    section: str,
    status: int = 200,
    **context: Any,
) -> Response:
    """A console page: the sections, the admin's name, ``errors``/``values`` for forms."""
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("notice", request.query_params.get("done", ""))
    response = render(request, template, admin, nav=NAV, section=section, **context)
    response.status_code = 422 if context["errors"] and status == 200 else status
    return response


def undo_refusal(session: Session, exc: FarmgateError) -> None:
    """A refusal the page will show: the transaction is undone. A record that is not there is
    not a form error: it stays the 404 page."""
    if exc.status == 404:
        raise exc
    session.rollback()
