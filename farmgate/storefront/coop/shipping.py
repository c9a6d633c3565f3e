"""The desk's shipping rules (/coop/shipping): one page, the zones, weight bands and surcharges
buyers are quoted by; refused whole (nothing changed) with the message beside the field."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.cooperatives import service as cooperatives
from farmgate.models import Account
from farmgate.orders import shipping as shipping_fees
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import desk_page

router = APIRouter(include_in_schema=False)

DONE = {"saved": "运费规则已保存，买家结算时按新规则计算。", "reset": "已改回使用乡镇默认运费。"}


def _page(
    request: Request,
    session: Session,
    staff: Account,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    coop = cooperatives.get_for(session, staff, staff.cooperative_id or 0)
    own = shipping_fees.own_rules(session, coop.id or 0)
    rules = own or shipping_fees.township_default(session, coop.township_id)
    return desk_page(
        request,
        session,
        staff,
        "coop/shipping.html",
        section="profile",
        own=own is not None,
        sample=rules.sample,
        values=values or shipping_fees.form_values(rules),
        errors=errors or {},
        notice=notice,
    )


@router.get("/coop/shipping", response_class=HTMLResponse)
def shipping_page(
    request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    return _page(request, session, staff, notice=DONE.get(done))


@router.post("/coop/shipping")
def save_shipping(
    request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    coop = cooperatives.get_for(session, staff, staff.cooperative_id or 0)
    rules, errors = shipping_fees.from_form(dict(form))
    if rules is None:
        return _page(request, session, staff, values=dict(form), errors=errors)
    shipping_fees.save(session, rules, staff, cooperative_id=coop.id)
    return see_other("/coop/shipping?done=saved")


@router.post("/coop/shipping/reset")
def reset_shipping(
    request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    coop = cooperatives.get_for(session, staff, staff.cooperative_id or 0)
    shipping_fees.reset(session, coop.id or 0)
    return see_other("/coop/shipping?done=reset")
