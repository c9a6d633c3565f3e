"""Traceability for cooperatives and the township: batches and every step of their story."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Response, UploadFile
from pydantic import AwareDatetime, BaseModel, Field

from farmgate.api.uploads import read_upload
from farmgate.callbacks import API_PREFIX
from farmgate.cooperatives import service as cooperatives
from farmgate.errors import ValidationFailed
from farmgate.models import Batch, Inspection, TraceEvent
from farmgate.orders import presenters
from farmgate.orders.schemas import OrderOut
from farmgate.rendering import labels
from farmgate.story import records as story_records
from farmgate.trace import (
    alerts,
    certificates,
    chain,
    epcis_export,
    facts,
    inspections,
    lineage,
    service,
    urls,
)
from farmgate.trace import serials as serial_codes
from farmgate.trace.schemas import (
    BatchIn,
    BatchOut,
    CertificationIn,
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
from farmgate.web.auth import CurrentAccount
from farmgate.web.downloads import XLSX_MEDIA, download, files
from farmgate.web.session import SessionDep

router = APIRouter(prefix=API_PREFIX, tags=["溯源"])


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
        recorded_at=event.recorded_at,
        data=event.data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


class BatchDetail(BaseModel):
    batch: BatchOut
    events: list[EventOut]
    chain: ChainOut
    # What the lot's trace page would show that its events do not say (trace.facts.check):
    # empty when every shown fact matches its event.
    fact_problems: list[str] = []
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
    chain_events = service.events(session, batch)
    report = chain.verify(session, batch, chain_events)
    family = lineage.family(session, batch)
    return BatchDetail(
        batch=batch_out(batch),
        events=[event_out(e) for e in chain_events],
        chain=ChainOut(**report.__dict__),
        fact_problems=facts.check(session, batch, chain_events),
        upstream=[batch_out(b) for b in family["upstream"]],
        downstream=[batch_out(b) for b in family["downstream"]],
    )


@router.post("/batches/{batch_id}/photos", status_code=201, summary="上传批次照片（地块、采收）")
def upload_batch_photo(
    batch_id: int, file: UploadFile, session: SessionDep, account: CurrentAccount
) -> dict[str, object]:
    batch = service.get_batch(session, account, batch_id, lock=True)
    return service.add_photo(session, account, batch, read_upload(file))


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
    report: Inspection = inspections.add_inspection(session, account, batch, data)
    return {"id": report.id, "passed": report.passed}


@router.post(
    "/batches/{batch_id}/inspections/{inspection_id}/report",
    summary="上传检测报告文件（PDF 或照片）",
)
def upload_report(
    batch_id: int,
    inspection_id: int,
    file: UploadFile,
    session: SessionDep,
    account: CurrentAccount,
) -> dict[str, object]:
    batch = service.get_batch(session, account, batch_id)
    report = inspections.attach_report(session, batch, inspection_id, read_upload(file))
    return {"id": report.id, "report_file": report.report_file}


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
    return batch_out(lineage.transform(session, account, data))


@router.post(
    "/batches/{batch_id}/recall",
    response_model=RecallOut,
    summary="召回批次（及其加工产品），立即停售，列出相关订单",
)
def recall(
    batch_id: int, data: RecallIn, session: SessionDep, account: CurrentAccount
) -> RecallOut:
    batch = service.get_batch(session, account, batch_id, lock=True)
    recalled = lineage.recall(session, account, batch, data)
    found = {o.id: o for lot in recalled for o in lineage.affected_orders(session, lot)}
    return RecallOut(
        recalled=[batch_out(b) for b in recalled],
        orders=[presenters.order_view(session, o) for o in found.values()],
    )


@router.get(
    "/batches/{batch_id}/orders",
    response_model=list[OrderOut],
    summary="收到（或可能收到）该批次的订单",
)
def batch_orders(batch_id: int, session: SessionDep, account: CurrentAccount) -> list[OrderOut]:
    batch = service.get_batch(session, account, batch_id)
    return [presenters.order_view(session, o) for o in lineage.affected_orders(session, batch)]


# --- QR codes and labels ------------------------------------------------------------------


class SerialsIn(BaseModel):
    count: int = Field(ge=1, le=5000, description="本次发放的单品码数量")


class SerialsOut(BaseModel):
    first: int
    last: int
    urls: list[str]


@router.get(
    "/batches/{batch_id}/qr.{fmt}",
    summary="批次二维码（PNG 或 SVG）",
    response_class=Response,
    responses=files("image/png", "image/svg+xml"),
)
def batch_qr(
    batch_id: int, fmt: Literal["png", "svg"], session: SessionDep, account: CurrentAccount
) -> Response:
    batch = service.get_batch(session, account, batch_id)
    title, subtitle = serial_codes.label_title(session, batch), f"批次 {batch.lot_code}"
    if fmt == "png":
        return Response(
            labels.qr_png(urls.trace_url(batch), title, subtitle), media_type="image/png"
        )
    return Response(
        labels.qr_svg(urls.trace_url(batch), title, subtitle), media_type="image/svg+xml"
    )


@router.post(
    "/batches/{batch_id}/serials",
    response_model=SerialsOut,
    status_code=201,
    summary="发放一物一码单品码（带签名，无法猜测）",
)
def issue_serials(
    batch_id: int, data: SerialsIn, session: SessionDep, account: CurrentAccount
) -> SerialsOut:
    batch = service.get_batch(session, account, batch_id, lock=True)
    issued = serial_codes.issue(session, batch, data.count)
    return SerialsOut(first=issued.first, last=issued.last, urls=issued.urls)


@router.get(
    "/batches/{batch_id}/labels.pdf",
    summary="打印标签（A4，可设行列）",
    response_class=Response,
    responses=files("application/pdf"),
)
def label_sheet(
    batch_id: int,
    session: SessionDep,
    account: CurrentAccount,
    start: int = Query(default=1, ge=1),
    count: int = Query(default=40, ge=1, le=labels.MAX_LABELS),
    columns: int = Query(default=4, ge=1, le=10),
    rows: int = Query(default=10, ge=1, le=20),
    serials: bool = Query(default=True, description="false 时打印批次码"),
) -> Response:
    """At most ``MAX_LABELS`` labels and ``MAX_PAGES`` pages a PDF (one print run)."""
    if labels.sheet_pages(count, columns, rows) > labels.MAX_PAGES:
        most = labels.MAX_PAGES * columns * rows
        raise ValidationFailed(
            f"一次最多打印 {labels.MAX_PAGES} 页标签",
            fields={"count": f"每页 {columns * rows} 个时，一次最多 {most} 个"},
        )
    batch = service.get_batch(session, account, batch_id)
    items = serial_codes.sheet_labels(session, batch, start=start, count=count, serials=serials)
    pdf = labels.label_sheet_pdf(items, columns=columns, rows=rows)
    return download(pdf, "application/pdf", f"labels-{batch.lot_code}-{start}.pdf")


# --- alerts --------------------------------------------------------------------------------


class AlertOut(BaseModel):
    id: int
    kind: str
    message: str
    cooperative_id: int | None
    batch_id: int | None
    details: dict[str, object]
    created_at: datetime
    read_at: datetime | None


@router.get("/alerts", response_model=list[AlertOut], summary="预警（冷链超标、微信对账差异等）")
def list_alerts(session: SessionDep, account: CurrentAccount, kind: str = "") -> list[AlertOut]:
    """The admin sees every alert, a cooperative its own; ``kind`` keeps one kind
    (``bill_mismatch``: the daily WeChat Pay reconciliation's differences)."""
    return [
        AlertOut.model_validate(a, from_attributes=True)
        for a in alerts.visible_alerts(session, account, kind=kind[:20])
    ]


# --- certifications and records -----------------------------------------------------------


@router.post("/batches/{batch_id}/certifications", status_code=201, summary="登记认证或合格证")
def add_certification(
    batch_id: int, data: CertificationIn, session: SessionDep, account: CurrentAccount
) -> dict[str, object]:
    batch = service.get_batch(session, account, batch_id, lock=True)
    return certificates.certification_view(
        certificates.add_certification(session, account, batch, data)
    )


@router.get(
    "/trace-records.{fmt}",
    summary="导出溯源记录（CSV 或 XLSX，按批次或时间段）",
    response_class=Response,
    responses=files("text/csv", XLSX_MEDIA),
)
def export_records(
    fmt: Literal["csv", "xlsx"],
    session: SessionDep,
    account: CurrentAccount,
    batch_id: int | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Response:
    if batch_id is not None:
        service.get_batch(session, account, batch_id)  # 404 unless it is theirs
    data = story_records.rows(session, account, batch_id=batch_id, since=since, until=until)
    if fmt == "csv":
        body, media = story_records.to_csv(data), "text/csv; charset=utf-8"
    else:
        body = story_records.to_xlsx(data)
        media = XLSX_MEDIA
    return download(body, media, f"trace-records-{batch_id or 'range'}.{fmt}")


# --- EPCIS ---------------------------------------------------------------------------------

EPCIS_MEDIA = "application/ld+json"


@router.get(
    "/batches/{batch_id}/epcis",
    summary="批次的 EPCIS 2.0 JSON-LD 文档（含上游原料批次）",
    response_class=Response,
    responses=files(EPCIS_MEDIA),
)
def batch_epcis(batch_id: int, session: SessionDep, account: CurrentAccount) -> Response:
    batch = service.get_batch(session, account, batch_id)
    cooperatives.ensure_can_issue(session, batch.cooperative_id)
    upstream = lineage.family(session, batch)["upstream"]
    document = epcis_export.for_batches(session, [batch, *upstream])
    return Response(json.dumps(document, ensure_ascii=False), media_type=EPCIS_MEDIA)


@router.get(
    "/epcis",
    summary="时间段内全部事件的 EPCIS 2.0 JSON-LD 文档",
    response_class=Response,
    responses=files(EPCIS_MEDIA),
)
def range_epcis(
    session: SessionDep,
    account: CurrentAccount,
    since: datetime,
    until: datetime | None = None,
) -> Response:
    if since.tzinfo is None or (until is not None and until.tzinfo is None):
        raise ValidationFailed(
            "时间须带时区，如 2026-11-01T00:00:00+08:00", fields={"since": "带时区"}
        )
    document = epcis_export.for_range(session, account, since, until)
    return Response(json.dumps(document, ensure_ascii=False), media_type=EPCIS_MEDIA)
