"""The console's review section: cooperatives that applied (approve, reject with a reason,
suspend, reinstate), requested new names, and products waiting to go on sale."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.catalog import review as products
from farmgate.cooperatives import service as cooperatives
from farmgate.errors import FarmgateError, NotFound
from farmgate.models import Account, CooperativeStatus
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
)
from farmgate.validators import normalize_uscc

router = APIRouter(include_in_schema=False)

ALREADY = "这条记录已经处理过了，没有重复操作"
STATUS_FILTERS = [("pending", "待审核")] + [
    (s.value, s.label) for s in CooperativeStatus if s != CooperativeStatus.PENDING
]


def _redirect(url: str, done: str, **params: str) -> Response:
    return see_other(f"{url}?{urlencode({**params, 'done': done})}")


def uscc_check(code: str) -> str:
    """ "" when the code's check character is right, else why not."""
    try:
        normalize_uscc(code)
    except ValueError as exc:
        return str(exc)
    return ""


@router.get("/township/review")
def review_home(admin: ConsoleAdmin) -> Response:
    return see_other("/township/review/cooperatives")


# --- cooperatives -----------------------------------------------------------------------


def _cooperatives_page(
    request: Request,
    session: Session,
    admin: Account,
    status: str = "pending",
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    http_status: int = 200,
) -> Response:
    chosen = CooperativeStatus(status) if status in {s.value for s in CooperativeStatus} else None
    rows = cooperatives.list_for_admin(session, chosen or CooperativeStatus.PENDING)
    return console_page(
        request,
        admin,
        "township/review_cooperatives.html",
        section="review",
        status=http_status,
        tab="cooperatives",
        chosen=(chosen or CooperativeStatus.PENDING).value,
        filters=STATUS_FILTERS,
        coops=[(c, uscc_check(c.uscc)) for c in rows],
        names=cooperatives.pending_names(session),
        errors=errors or {},
        values=values or {},
    )


@router.get("/township/review/cooperatives", response_class=HTMLResponse)
def cooperative_list(
    request: Request, session: SessionDep, admin: ConsoleAdmin, status: str = "pending"
) -> Response:
    return _cooperatives_page(request, session, admin, status)


ACTIONS = {
    "approve": ("已批准该合作社，它的商品可以提交上架了", "pending"),
    "reject": ("已告知申请人不通过及原因", "pending"),
    "suspend": ("已暂停该合作社，它的商品已停止销售", "approved"),
    "reinstate": ("已恢复该合作社，它的商品恢复销售", "suspended"),
}


@router.post("/township/review/cooperatives/{cooperative_id:int}/{action}")
def cooperative_action(
    cooperative_id: int,
    action: str,
    request: Request,
    form: FormValues,
    session: SessionDep,
    admin: ConsoleAdmin,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    if action not in ACTIONS:
        raise NotFound("页面不存在")
    done, back = ACTIONS[action]
    reason = form.get("reason", "")
    try:
        if action == "approve":
            acted = cooperatives.approve_application(session, admin, cooperative_id)
        elif action == "reject":
            acted = cooperatives.reject_application(session, admin, cooperative_id, reason)
        elif action == "suspend":
            acted = cooperatives.suspend(session, admin, cooperative_id, reason)
        else:
            acted = cooperatives.reinstate(session, admin, cooperative_id)
    except FarmgateError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        key = f"reason-{cooperative_id}"
        message = exc.fields.get("reason", exc.message)
        return _cooperatives_page(
            request,
            session,
            admin,
            back,
            errors={key: message},
            values={key: reason},
            http_status=422 if exc.status == 422 else 409,
        )
    return _redirect("/township/review/cooperatives", done if acted else ALREADY, status=back)


@router.post("/township/review/names/{cooperative_id:int}/{decision}")
def name_decision(
    cooperative_id: int,
    decision: str,
    request: Request,
    form: FormValues,
    session: SessionDep,
    admin: ConsoleAdmin,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    if decision not in ("approve", "reject"):
        raise NotFound("页面不存在")
    acted = cooperatives.decide_name_once(
        session, admin, cooperative_id, form.get("name", ""), decision == "approve"
    )
    done = "已同意改名，买家现在看到新名称" if decision == "approve" else "已不同意改名，名称不变"
    return _redirect("/township/review/cooperatives", done if acted else ALREADY)


# --- products ---------------------------------------------------------------------------


def _products_page(
    request: Request,
    session: Session,
    admin: Account,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    http_status: int = 200,
) -> Response:
    shown, waiting = products.queue(session, admin)
    return console_page(
        request,
        admin,
        "township/review_products.html",
        section="review",
        status=http_status,
        tab="products",
        queue=shown,
        waiting=waiting,
        errors=errors or {},
        values=values or {},
    )


@router.get("/township/review/products", response_class=HTMLResponse)
def product_queue(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    return _products_page(request, session, admin)


@router.post("/township/review/products/{product_id:int}/{decision}")
def product_decision(
    product_id: int,
    decision: str,
    request: Request,
    form: FormValues,
    session: SessionDep,
    admin: ConsoleAdmin,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    if decision not in ("approve", "reject"):
        raise NotFound("页面不存在")
    reason = form.get("reason", "")
    key = f"reason-{product_id}"
    if decision == "reject" and len(reason.strip()) > 500:
        return _products_page(
            request, session, admin, errors={key: "退回原因不能超过500个字"}, values={key: reason}
        )
    try:
        if decision == "approve":
            acted = products.approve(session, admin, product_id, form.get("seen", ""))
        else:
            acted = products.reject(session, admin, product_id, reason)
    except FarmgateError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        message = "请填写退回原因，合作社会看到它" if exc.fields.get("note") else exc.message
        return _products_page(
            request,
            session,
            admin,
            errors={key: message},
            values={key: reason},
            http_status=422 if exc.status == 422 else 409,
        )
    done = "已批准上架，买家现在可以购买" if decision == "approve" else "已退回，合作社会看到原因"
    return _redirect("/township/review/products", done if acted else ALREADY)
