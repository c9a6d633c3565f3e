"""Every tracking event of a lot or a date range as a spreadsheet (CSV or XLSX).

What a food-safety inspector asks for within 24 hours: one row per event with its key data
elements (lot, quantity and unit, product, locations and parties, dates, reference documents),
sortable and filterable, with a sheet saying what each column means.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.errors import PermissionDenied, ValidationFailed
from farmgate.models import Account, Batch, Product, Role, TraceEvent
from farmgate.rendering.spreadsheets import add_sheet, csv_bytes, xlsx_bytes
from farmgate.story.views import describe
from farmgate.timeutil import format_local
from farmgate.trace import chain, facts
from farmgate.trace.service import STEP_LABELS
from farmgate.trace.service import events as service_events

COLUMNS: list[tuple[str, str]] = [
    ("事件时间", "事件发生的时间（北京时间）"),
    ("事件", "事件类型：采收入库、检测、包装、仓储、发出、接收、加工、销售、召回、更正"),
    ("CBV 业务步骤", "对应 GS1 EPCIS 2.0 / CBV 2.0 的 bizStep"),
    ("批次号", "批次（GS1 AI 10）"),
    ("GTIN", "商品的全球贸易项目代码（14 位）"),
    ("商品", "商品名称"),
    ("数量", "批次数量"),
    ("单位", "数量单位"),
    ("地点", "事件发生地点"),
    ("交出方", "交接时的交出方（货物来源）"),
    ("接收方", "交接时的接收方（货物去向）"),
    ("温度（℃）", "交接时记录的温度"),
    ("参考文件", "检测报告号、投入批次等参考凭证"),
    ("说明", "事件的文字说明"),
    ("序号", "该批次事件链中的序号"),
    ("记录哈希", "该事件的 SHA-256 哈希，用于校验记录未被篡改"),
    ("登记时间", "该事件录入平台的时间（北京时间）；晚于事件时间太久的标为“补录”"),
    ("校验", "该批次的哈希链与页面信息是否一致；不一致时写明原因；补录的事件注明“补录”"),
]
CBV = {
    "commissioning": "commissioning",
    "inspecting": "inspecting",
    "packing": "packing",
    "storing": "storing",
    "shipping": "shipping",
    "receiving": "receiving",
    "retail_selling": "retail_selling",
    "transforming": "transforming",
    "recall": "holding (disposition: recalled)",
    "correction": "errorDeclaration",
}
MAX_ROWS = 200_000


def _reference(event: TraceEvent) -> str:
    d = event.data
    if event.kind == "inspecting":
        return f"检测报告 {d.get('report_no', '')}（{d.get('lab', '')}）"
    if event.kind == "transforming" and d.get("role") == "output":
        return "投入批次 " + "、".join(str(i.get("lot")) for i in d.get("inputs", []))
    if event.kind == "transforming":
        return f"产出批次 {(d.get('output') or {}).get('lot', '')}"
    if event.kind == "correction":
        return f"更正第 {d.get('corrects_seq')} 条（{d.get('corrects_hash', '')[:12]}…）"
    return ""


def rows(
    session: Session,
    actor: Account,
    *,
    batch_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[list[Any]]:
    """Rows in event-time order; a cooperative sees only its own lots. Who may export, and
    what, is checked now, when called, not when the first row is asked for: a refusal never
    reaches a half-written file."""
    if actor.role not in (Role.ADMIN, Role.COOPERATIVE):
        raise PermissionDenied("只有合作社和乡镇管理员可以导出溯源记录")
    if batch_id is None and since is None:
        raise ValidationFailed("请指定批次或起始时间", fields={"since": "必填其一"})
    query = (
        select(TraceEvent, Batch, col(Product.name))
        .join(Batch, col(Batch.id) == col(TraceEvent.batch_id))
        .join(Product, col(Product.id) == col(Batch.product_id))
        .order_by(col(TraceEvent.event_time), col(TraceEvent.batch_id), col(TraceEvent.seq))
        .limit(MAX_ROWS)
    )
    if actor.role == Role.COOPERATIVE:
        query = query.where(col(Batch.cooperative_id) == actor.cooperative_id)
    if batch_id is not None:
        query = query.where(col(TraceEvent.batch_id) == batch_id)
    if since is not None:
        query = query.where(col(TraceEvent.event_time) >= since)
    if until is not None:
        query = query.where(col(TraceEvent.event_time) < until)
    return _rows(session, query)


def _rows(session: Session, query: Select[TraceEvent, Batch, str]) -> Iterator[list[Any]]:
    verdicts: dict[int, str] = {}
    for event, batch, product_name in session.execute(query):
        d = event.data
        if event.batch_id not in verdicts:
            verdicts[event.batch_id] = _verdict(session, batch)
        check = verdicts[event.batch_id]
        if facts.is_late(event):
            check = f"补录；{check}"
        yield [
            format_local(event.event_time),
            STEP_LABELS.get(event.kind, event.kind),
            CBV.get(event.kind, event.kind),
            batch.lot_code,
            batch.gtin,
            product_name,
            float(d["quantity"]) if d.get("quantity") else float(batch.quantity),
            d.get("unit") or batch.unit,
            d.get("place", ""),
            d.get("from_party", ""),
            d.get("to_party", ""),
            d.get("temperature_c"),
            _reference(event),
            describe(event),
            event.seq,
            event.hash,
            format_local(event.recorded_at),
            check,
        ]


def _verdict(session: Session, batch: Batch) -> str:
    """The lot's integrity as its trace page states it: the chain, and the shown facts."""
    chain_events = service_events(session, batch)
    report = chain.verify(session, batch, chain_events)
    if not report.intact:
        return f"校验未通过：第 {report.broken_at} 条{report.reason}"
    problems = facts.check(session, batch, chain_events)
    return "校验未通过：" + "；".join(problems) if problems else "校验通过"


def to_csv(data: Iterator[list[Any]]) -> bytes:
    return csv_bytes([name for name, _ in COLUMNS], data)


def to_xlsx(data: Iterator[list[Any]], title: str = "溯源记录") -> bytes:
    def build(book: Workbook) -> None:
        widths = (18, 10, 14, 14, 16, 14, 8, 6, 16, 14, 14, 8, 24, 36, 6, 20, 18, 30)
        add_sheet(book, title, [name for name, _ in COLUMNS], data, widths=widths)
        notes = book.create_sheet("字段说明")
        notes.column_dimensions["A"].width = 14
        notes.column_dimensions["B"].width = 70
        notes.append(["字段", "含义"])
        for name, meaning in COLUMNS:
            notes.append([name, meaning])

    return xlsx_bytes(build)
