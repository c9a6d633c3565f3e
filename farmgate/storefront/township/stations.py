"""Console section "服务站": village service stations listed, created, edited; staff accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate import places
from farmgate.cooperatives import service as cooperatives
from farmgate.errors import FarmgateError
from farmgate.models import Account, Station
from farmgate.stations import hours, records
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
NEW = {**hours.form_values(hours.default_hours()), "takes_cash": "1", "holds_parcels": "1"}


def _values(station: Station) -> dict[str, str]:
    fields = ("name", "address", "phone", "village_id", "cooperative_id")
    values = {k: str(getattr(station, k) or "") for k in fields}
    values.update(hours.form_values(station.weekly_hours))
    values.update({f: "1" for f in records.FLAGS if getattr(station, f)})
    return values


def _list_page(
    request: Request,
    session: Session,
    admin: Account,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return console_page(
        request,
        admin,
        "township/stations_list.html",
        section="stations",
        rows=records.list_stations(session),
        village_options=[(v.id, v.name) for v in places.list_villages(session)],
        coop_options=[(c.id, c.name) for c in cooperatives.list_public(session)],
        errors=errors or {},
        values=values or NEW,
    )


@router.get("/township/stations", response_class=HTMLResponse)
def station_list(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    return _list_page(request, session, admin)


@router.post("/township/stations", response_class=HTMLResponse)
def create(
    request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    try:
        station = records.save_station(session, admin, dict(form))
    except FarmgateError as exc:
        undo_refusal(session, exc)
        return _list_page(request, session, admin, dict(exc.fields), dict(form))
    return see_other(f"/township/stations/{station.id}?done=已新建服务站「{station.name}」")


def _detail(
    request: Request,
    session: Session,
    admin: Account,
    station_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    station = records.get_station(session, station_id)
    return console_page(
        request,
        admin,
        "township/stations_detail.html",
        section="stations",
        station=station,
        staff=records.staff_of(session, [station_id]).get(station_id, []),
        village_options=[(v.id, v.name) for v in places.list_villages(session)],
        coop_options=[(c.id, c.name) for c in cooperatives.list_public(session)],
        errors=errors or {},
        values=values or _values(station),
    )


@router.get("/township/stations/{station_id:int}", response_class=HTMLResponse)
def station_page(
    station_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _detail(request, session, admin, station_id)


@router.post("/township/stations/{station_id:int}", response_class=HTMLResponse)
def update(
    station_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    try:
        station = records.save_station(session, admin, dict(form), station_id)
    except FarmgateError as exc:
        undo_refusal(session, exc)
        return _detail(request, session, admin, station_id, dict(exc.fields), dict(form))
    return see_other(f"/township/stations/{station.id}?done=已保存")


@router.post("/township/stations/{station_id:int}/staff", response_class=HTMLResponse)
def add_staff(
    station_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    try:
        staff, password = records.add_staff(
            session, admin, station_id, form.get("staff_phone", ""), form.get("staff_name", "")
        )
    except FarmgateError as exc:
        undo_refusal(session, exc)
        station = records.get_station(session, station_id)
        return _detail(
            request, session, admin, station_id, dict(exc.fields), {**_values(station), **form}
        )
    response = console_page(
        request,
        admin,
        "township/stations_staff_created.html",
        section="stations",
        station=records.get_station(session, station_id),
        staff=staff,
        password=password,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
