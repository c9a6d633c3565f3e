"""Console section "配送员": courier accounts created, assigned to villages, deactivated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError
from farmgate.logistics import couriers
from farmgate.models import Account
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
    undo_refusal,
)

router = APIRouter(include_in_schema=False)


def _list_page(
    request: Request,
    session: Session,
    admin: Account,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    rows = couriers.list_couriers(session, admin)
    return console_page(
        request,
        admin,
        "township/couriers_list.html",
        section="couriers",
        rows=rows,
        villages=couriers.villages_of(session, [r.id for r in rows if r.id is not None]),
        errors=errors or {},
        values=values or {},
    )


@router.get("/township/couriers", response_class=HTMLResponse)
def courier_list(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    return _list_page(request, session, admin)


@router.post("/township/couriers", response_class=HTMLResponse)
def create(
    request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    try:
        courier, password = couriers.create(
            session, admin, form.get("phone", ""), form.get("display_name", "")
        )
    except FarmgateError as exc:
        session.rollback()
        errors = dict(exc.fields) or {"phone": exc.message}
        return _list_page(request, session, admin, errors, form)
    # Shown this once, on this response only (a reload does not create another account:
    # the phone number is then taken and the form says so).
    response = console_page(
        request,
        admin,
        "township/couriers_created.html",
        section="couriers",
        courier=courier,
        password=password,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _detail(
    request: Request,
    session: Session,
    admin: Account,
    courier_id: int,
    template: str = "township/couriers_detail.html",
    errors: dict[str, str] | None = None,
) -> Response:
    courier = couriers.get_courier(session, admin, courier_id)
    return console_page(
        request,
        admin,
        template,
        section="couriers",
        courier=courier,
        chosen={v.id for v in couriers.villages_of(session, [courier_id]).get(courier_id, [])},
        villages=couriers.all_villages(session),
        errors=errors or {},
    )


@router.get("/township/couriers/{courier_id:int}", response_class=HTMLResponse)
def courier_page(
    courier_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _detail(request, session, admin, courier_id)


@router.post("/township/couriers/{courier_id:int}/villages")
def villages(
    courier_id: int,
    request: Request,
    session: SessionDep,
    admin: ConsoleAdmin,
    village: Annotated[list[str] | None, Form()] = None,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    picked = village or []
    if not all(v.isdigit() for v in picked):
        return _detail(request, session, admin, courier_id, errors={"villages": "请从列表中选择村"})
    try:
        changed = couriers.set_villages(session, admin, courier_id, [int(v) for v in picked])
    except FarmgateError as exc:
        undo_refusal(session, exc)
        return _detail(request, session, admin, courier_id, errors={"villages": exc.message})
    notice = "负责的村已保存" if changed else "负责的村没有变化"
    return see_other(f"/township/couriers/{courier_id}?done={notice}")


@router.get("/township/couriers/{courier_id:int}/deactivate", response_class=HTMLResponse)
def deactivate_confirm(
    courier_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _detail(request, session, admin, courier_id, "township/couriers_deactivate.html")


@router.post("/township/couriers/{courier_id:int}/deactivate")
def deactivate(
    courier_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    done = couriers.deactivate(session, admin, courier_id)
    notice = "已停用，该配送员不能再登录" if done else "该配送员之前已停用"
    return see_other(f"/township/couriers/{courier_id}?done={notice}")
