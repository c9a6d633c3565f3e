"""Cold chain: shipments of a batch, couriers' handoffs and temperature loggers' readings."""

from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile
from pydantic import BaseModel

from farmgate.api.uploads import read_upload
from farmgate.callbacks import API_PREFIX
from farmgate.coldchain import readings, shipments
from farmgate.coldchain.shipments import HandoffIn, ShipmentIn
from farmgate.models import ColdShipment, Handoff
from farmgate.web.auth import CurrentAccount
from farmgate.web.requests import RawBody
from farmgate.web.session import SessionDep

router = APIRouter(prefix=API_PREFIX, tags=["冷链"])


class ShipmentOut(BaseModel):
    id: int
    batch_id: int
    courier_account_id: int | None
    device_id: str | None
    fulfilment_id: int | None
    storage_class: str
    status: str
    breached: bool
    analysis: dict[str, object]


class HandoffOut(BaseModel):
    id: int
    shipment_id: int
    from_party: str
    to_party: str
    place: str
    temperature_c: float | None
    trace_event_id: int | None
    photo: str | None = None


def shipment_out(shipment: ColdShipment) -> ShipmentOut:
    return ShipmentOut.model_validate(shipment, from_attributes=True)


@router.post(
    "/batches/{batch_id}/shipments",
    response_model=ShipmentOut,
    status_code=201,
    summary="创建冷链运输（指派配送员、绑定温度记录仪）",
)
def create_shipment(
    batch_id: int, data: ShipmentIn, session: SessionDep, account: CurrentAccount
) -> ShipmentOut:
    return shipment_out(shipments.create_shipment(session, account, batch_id, data))


@router.get("/courier/shipments", response_model=list[ShipmentOut], summary="派给我的运输")
def my_shipments(session: SessionDep, account: CurrentAccount) -> list[ShipmentOut]:
    return [shipment_out(s) for s in shipments.courier_shipments(session, account)]


@router.get("/shipments/{shipment_id}", response_model=ShipmentOut, summary="运输详情")
def get_shipment(shipment_id: int, session: SessionDep, account: CurrentAccount) -> ShipmentOut:
    return shipment_out(shipments.get_shipment(session, account, shipment_id))


@router.post(
    "/shipments/{shipment_id}/handoffs",
    response_model=HandoffOut,
    status_code=201,
    summary="登记交接（时间、地点、温度）",
)
def add_handoff(
    shipment_id: int, data: HandoffIn, session: SessionDep, account: CurrentAccount
) -> HandoffOut:
    shipment = shipments.get_shipment(session, account, shipment_id)
    handoff: Handoff = shipments.add_handoff(session, account, shipment, data)
    return HandoffOut.model_validate(handoff, from_attributes=True)


@router.post(
    "/shipments/{shipment_id}/readings",
    summary="批量上传温度读数（CSV 或 JSON；按设备与序号去重，坏行报告行号）",
)
def upload_readings(
    shipment_id: int,
    request: Request,
    body: RawBody,
    session: SessionDep,
    account: CurrentAccount,
) -> dict[str, object]:
    shipment = shipments.get_shipment(session, account, shipment_id)
    content_type = request.headers.get("content-type", "text/csv")
    return readings.upload_readings(session, account, shipment, body, content_type)


@router.post(
    "/shipments/{shipment_id}/handoffs/{handoff_id}/photo",
    response_model=HandoffOut,
    summary="上传交接照片",
)
def upload_handoff_photo(
    shipment_id: int,
    handoff_id: int,
    file: UploadFile,
    session: SessionDep,
    account: CurrentAccount,
) -> HandoffOut:
    shipment = shipments.get_shipment(session, account, shipment_id)
    handoff = shipments.add_handoff_photo(session, account, shipment, handoff_id, read_upload(file))
    return HandoffOut.model_validate(handoff, from_attributes=True)
