"""Traceability for cooperatives and the township: batches and every step of their story."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from farmgate.api.deps import CurrentAccount, SessionDep
from farmgate.models import Batch, Inspection, TraceEvent
from farmgate.orders import service as orders
from farmgate.orders.schemas import OrderOut
from farmgate.trace import chain, service, urls
from farmgate.trace.schemas import (
    BatchIn,
    BatchOut,
    ChainOut,
    CorrectionIn,
    EventOut,
    HarvestIn,
    InputIn,
    InspectionIn,
    RecallIn,
    StepIn,
    TransformIn,
)

router = APIRouter(tags=["溯源"])


def batch_out(batch: Batch) -> BatchOut:
    out = BatchOut.model_validate(batch, from_attributes=True)
    out.trace_url = urls.trace_url(batch)
    return out


def event_out(event: TraceEvent) -> EventOut:
    return EventOut(
        seq=event.seq,
        kind=event.kind,
        label=service.STEP_LABELS.get(event.kind, event.kind),
        event_time=event.event_time,
        data=event.data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


class BatchDetail(BaseModel):
    batch: BatchOut
    events: list[EventOut]
    chain: ChainOut
    upstream: list[BatchOut]
    downstream: list[BatchOut]


class RecallOut(BaseModel):
    recalled: list[BatchOut]
    orders: list[OrderOut]


@router.post("/batches", response_model=BatchOut, status_code=201, summary="登记批次")
def create_batch(data: BatchIn, session: SessionDep, account: CurrentAccount) -> BatchOut:
    return batch_out(service.create_batch(session, account, data))


@router.get("/batches", response_model=list[BatchOut], summary="批次列表（本合作社或全乡）")
def list_batches(session: SessionDep, account: CurrentAccount) -> list[BatchOut]:
    return [batch_out(b) for b in service.list_batches(session, account)]


@router.get("/batches/{batch_id}", response_model=BatchDetail, summary="批次详情与事件链")
def get_batch(batch_id: int, session: SessionDep, account: CurrentAccount) -> BatchDetail:
    batch = service.get_batch(session, account, batch_id)
    report = chain.verify(session, batch)
    family = service.lineage(session, batch)
    return BatchDetail(
        batch=batch_out(batch),
        events=[event_out(e) for e in service.events(session, batch)],
        chain=ChainOut(**report.__dict__),
        upstream=[batch_out(b) for b in family["upstream"]],
        downstream=[batch_out(b) for b in family["downstream"]],
    )


@router.post("/batches/{batch_id}/inputs", status_code=201, summary="登记施肥、用药记录")
def add_input(
    batch_id: int, data: InputIn, session: SessionDep, account: CurrentAccount
) -> dict[str, int]:
    batch = service.get_batch(session, account, batch_id, lock=True)
    return {"id": service.add_input(session, account, batch, data).id or 0}


@router.post(
    "/batches/{batch_id}/harvest",
    response_model=EventOut,
    status_code=201,
    summary="登记采收（未过安全间隔期将被拒绝）",
)
def harvest(
    batch_id: int, data: HarvestIn, session: SessionDep, account: CurrentAccount
) -> EventOut:
    batch = service.get_batch(session, account, batch_id, lock=True)
    return event_out(service.record_harvest(session, account, batch, data))


@router.post("/batches/{batch_id}/inspections", status_code=201, summary="登记检测报告")
def add_inspection(
    batch_id: int, data: InspectionIn, session: SessionDep, account: CurrentAccount
) -> dict[str, object]:
    batch = service.get_batch(session, account, batch_id, lock=True)
    report: Inspection = service.add_inspection(session, account, batch, data)
    return {"id": report.id, "passed": report.passed}


@router.post(
    "/batches/{batch_id}/events",
    response_model=EventOut,
    status_code=201,
    summary="登记包装、仓储、发出、接收、销售",
)
def add_step(batch_id: int, data: StepIn, session: SessionDep, account: CurrentAccount) -> EventOut:
    batch = service.get_batch(session, account, batch_id, lock=True)
    return event_out(service.record_step(session, account, batch, data))


@router.post(
    "/batches/{batch_id}/corrections",
    response_model=EventOut,
    status_code=201,
    summary="更正一条记录（原记录保留）",
)
def correct(
    batch_id: int, data: CorrectionIn, session: SessionDep, account: CurrentAccount
) -> EventOut:
    batch = service.get_batch(session, account, batch_id, lock=True)
    return event_out(service.correct(session, account, batch, data))


@router.post(
    "/transformations",
    response_model=BatchOut,
    status_code=201,
    summary="加工或混批：投入批次生成新批次",
)
def transform(data: TransformIn, session: SessionDep, account: CurrentAccount) -> BatchOut:
    return batch_out(service.transform(session, account, data))


@router.post(
    "/batches/{batch_id}/recall",
    response_model=RecallOut,
    summary="召回批次（及其加工产品），立即停售，列出相关订单",
)
def recall(
    batch_id: int, data: RecallIn, session: SessionDep, account: CurrentAccount
) -> RecallOut:
    batch = service.get_batch(session, account, batch_id, lock=True)
    recalled = service.recall(session, account, batch, data)
    found = {o.id: o for lot in recalled for o in service.affected_orders(session, lot)}
    return RecallOut(
        recalled=[batch_out(b) for b in recalled],
        orders=[orders.order_view(session, o) for o in found.values()],
    )


@router.get(
    "/batches/{batch_id}/orders",
    response_model=list[OrderOut],
    summary="收到（或可能收到）该批次的订单",
)
def batch_orders(batch_id: int, session: SessionDep, account: CurrentAccount) -> list[OrderOut]:
    batch = service.get_batch(session, account, batch_id)
    return [orders.order_view(session, o) for o in service.affected_orders(session, batch)]
