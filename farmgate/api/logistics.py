"""Parcels: the carrier's tracking pushes (verify -> store -> acknowledge; applying is a job),
the township's own couriers (assignment, steps from the phone) and waybills a person checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from farmgate import callbacks
from farmgate.callbacks import API_PREFIX
from farmgate.db import pk
from farmgate.logistics import service, township
from farmgate.logistics.township import ParcelStepIn
from farmgate.models import Parcel, ParcelStatus, carrier_label
from farmgate.web.auth import CurrentAccount
from farmgate.web.requests import RawBody
from farmgate.web.session import SessionDep

router = APIRouter(prefix=API_PREFIX, tags=["物流"])


class CourierOut(BaseModel):
    id: int
    display_name: str


class ParcelDetailOut(BaseModel):
    id: int
    order_id: int
    fulfilment_id: int
    carrier: str
    carrier_label: str
    waybill_no: str | None
    status: str
    status_label: str
    is_final: bool
    courier_account_id: int | None
    courier_name: str | None
    needs_check: bool
    last_event_at: datetime | None
    events: list[dict[str, Any]]


class AssignIn(BaseModel):
    courier_account_id: int


class WaybillCheckIn(BaseModel):
    waybill_no: str | None = Field(
        default=None,
        max_length=40,
        description="在承运商后台查到的运单号；为空表示确认没有生成运单，重新下单",
    )


def parcel_out(session: Session, parcel: Parcel) -> ParcelDetailOut:
    return ParcelDetailOut(
        id=pk(parcel),
        order_id=parcel.order_id,
        fulfilment_id=parcel.fulfilment_id,
        carrier=parcel.carrier,
        carrier_label=carrier_label(parcel.carrier),
        waybill_no=parcel.waybill_no,
        status=parcel.status,
        status_label=ParcelStatus.label_of(parcel.status),
        is_final=parcel.is_final,
        courier_account_id=parcel.courier_account_id,
        courier_name=service.courier_name(session, parcel),
        needs_check=parcel.create_state == service.CHECK,
        last_event_at=parcel.last_event_at,
        events=list(reversed(parcel.events)),  # newest first
    )


@router.post(callbacks.KUAIDI100_PUSH, include_in_schema=False)
def kuaidi100_push(request: Request, body: RawBody, session: SessionDep) -> Response:
    status, content_type, payload = service.receive_push(session, request.headers, body)
    return Response(payload, status_code=status, media_type=content_type)


@router.get("/couriers", response_model=list[CourierOut], summary="乡镇配送员（指派用）")
def list_couriers(session: SessionDep, account: CurrentAccount) -> list[CourierOut]:
    return [
        CourierOut(id=pk(c), display_name=c.display_name or "配送员")
        for c in township.couriers(session, account)
    ]


@router.get("/parcels/{parcel_id}", response_model=ParcelDetailOut, summary="包裹详情")
def get_parcel(parcel_id: int, session: SessionDep, account: CurrentAccount) -> ParcelDetailOut:
    return parcel_out(session, service.staff_parcel(session, account, parcel_id))


@router.post(
    "/parcels/{parcel_id}/courier", response_model=ParcelDetailOut, summary="指派乡镇配送员"
)
def assign_courier(
    parcel_id: int, data: AssignIn, session: SessionDep, account: CurrentAccount
) -> ParcelDetailOut:
    return parcel_out(
        session, township.assign(session, account, parcel_id, data.courier_account_id)
    )


@router.post(
    "/parcels/{parcel_id}/waybill-check",
    response_model=ParcelDetailOut,
    summary="核对运单：补录承运商已生成的单号，或确认没有后重新下单",
)
def waybill_check(
    parcel_id: int, data: WaybillCheckIn, session: SessionDep, account: CurrentAccount
) -> ParcelDetailOut:
    number = (data.waybill_no or "").strip() or None
    return parcel_out(session, service.resolve_check(session, account, parcel_id, number))


@router.get(
    "/courier/parcels", response_model=list[ParcelDetailOut], summary="派给我的包裹（配送员）"
)
def my_parcels(session: SessionDep, account: CurrentAccount) -> list[ParcelDetailOut]:
    return [parcel_out(session, p) for p in township.courier_parcels(session, account)]


@router.post(
    "/courier/parcels/{parcel_id}/steps",
    response_model=ParcelDetailOut,
    summary="登记配送进度（取件、派送、签收、异常）",
)
def record_step(
    parcel_id: int, data: ParcelStepIn, session: SessionDep, account: CurrentAccount
) -> ParcelDetailOut:
    return parcel_out(session, township.record_step(session, account, parcel_id, data))
