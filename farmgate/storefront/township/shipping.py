"""Console: the township's default shipping rules (/township/shipping), used by every
cooperative without its own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate import places
from farmgate.errors import NotFound
from farmgate.models import Account
from farmgate.orders import shipping as shipping_fees
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
)

router = APIRouter(include_in_schema=False)


def _township_id(session: Session) -> int:
    township = places.current_township(session)
    if township is None or township.id is None:
        raise NotFound("还没有设置乡镇")
    return township.id


def _page(
    request: Request,
    session: Session,
    admin: Account,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    rules = shipping_fees.township_default(session, _township_id(session))
    return console_page(
        request,
        admin,
        "township/shipping.html",
        section="couriers",
        sample=rules.sample,
        values=values or shipping_fees.form_values(rules),
        errors=errors or {},
        status=422 if errors else 200,
    )


@router.get("/township/shipping", response_class=HTMLResponse)
def default_shipping(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    return _page(request, session, admin)


@router.post("/township/shipping")
def save_default_shipping(
    request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    rules, errors = shipping_fees.from_form(dict(form))
    if rules is None:
        return _page(request, session, admin, dict(form), errors)
    shipping_fees.save(session, rules, admin, township_id=_township_id(session))
    return see_other("/township/shipping?done=默认运费已保存")
