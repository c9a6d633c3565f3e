"""The console's orders: a search with filters on top (50 a page) and one order's whole story."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from farmgate import audit
from farmgate.cooperatives import service as cooperatives
from farmgate.errors import NotFound
from farmgate.models import Order, OrderStatus, RefundRequestStatus, RefundStatus
from farmgate.orders import lookup, presenters
from farmgate.payments import requests, township
from farmgate.storefront.coop.forms import clean
from farmgate.storefront.township.deps import ConsoleAdmin, SessionDep, console_page

router = APIRouter(include_in_schema=False)

FILTERS = ("number", "phone", "cooperative", "status", "date_from", "date_to")


def _date(values: dict[str, str], key: str, errors: dict[str, str]) -> date | None:
    text = clean(values.get(key))
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = "日期请按 2026-05-01 的格式填写"
        return None


def _query(values: dict[str, str], errors: dict[str, str]) -> lookup.OrderQuery:
    number = clean(values.get("number"))[:24]
    phone = clean(values.get("phone"))[:11]
    if phone and not phone.isdigit():
        errors["phone"] = "手机号只能填数字（可以只填一部分）"
    cooperative = clean(values.get("cooperative"))
    cooperative_id = None
    if cooperative:
        if cooperative.isdigit():
            cooperative_id = int(cooperative)
        else:
            errors["cooperative"] = "请从列表里选择合作社"
    status = values.get("status") or ""
    if status and status not in set(OrderStatus):
        errors["status"] = "请从列表里选择订单状态"
    date_from = _date(values, "date_from", errors)
    date_to = _date(values, "date_to", errors)
    if date_from and date_to and date_to < date_from:
        errors["date_to"] = "结束日期不能早于开始日期"
    return lookup.OrderQuery(
        number=number,
        phone=phone if "phone" not in errors else "",
        cooperative_id=cooperative_id,
        status=OrderStatus(status) if status and "status" not in errors else None,
        date_from=date_from,
        date_to=date_to if "date_to" not in errors else None,
    )


@router.get("/township/orders", response_class=HTMLResponse)
def order_list(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    values = {k: request.query_params.get(k, "") for k in FILTERS}
    errors: dict[str, str] = {}
    query = _query(values, errors)
    page_no = request.query_params.get("page", "1")
    found = lookup.search(session, query, int(page_no) if page_no.isdigit() else 1)
    kept = {k: v for k, v in values.items() if v}

    def page_url(n: int) -> str:
        return "/township/orders?" + urlencode({**kept, "page": n})

    return console_page(
        request,
        admin,
        "township/orders_list.html",
        section="orders",
        found=found,
        page_url=page_url,
        statuses=[(s.value, s.label) for s in OrderStatus],
        status_label=OrderStatus.label_of,
        coops=[(c.id, c.name) for c in cooperatives.list_for_admin(session)],
        errors=errors,
        values=values,
    )


@router.get("/township/orders/{order_id:int}", response_class=HTMLResponse)
def order_page(
    order_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("订单不存在")
    intents, refunds, asked = township.order_money(session, order)
    history = audit.entries(session, target="order", target_id=order.id, limit=20)
    return console_page(
        request,
        admin,
        "township/orders_detail.html",
        section="orders",
        order=order,
        view=presenters.order_view(session, order),
        intents=intents,
        refunds=refunds,
        asked=asked,
        late={r.id for r in asked if requests.is_late(r)},
        history=history,
        status_label=OrderStatus.label_of,
        refund_label=RefundStatus.label_of,
        request_label=RefundRequestStatus.label_of,
    )
