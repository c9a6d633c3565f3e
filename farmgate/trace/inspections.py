"""Lab inspections of a lot: the results recorded in its chain, the lab's report kept beside."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import pk
from farmgate.errors import NotFound
from farmgate.media.images import process_upload
from farmgate.media.photos import delete_after_commit, save_all, written
from farmgate.media.storage import get_storage
from farmgate.models import Account, Batch, Inspection
from farmgate.trace import chain, facts
from farmgate.trace.schemas import InspectionIn
from farmgate.trace.service import require_active


def add_inspection(
    session: Session, actor: Account, batch: Batch, data: InspectionIn
) -> Inspection:
    require_active(batch)
    items = [item.model_dump() for item in data.items]
    report = Inspection(
        batch_id=pk(batch),
        lab=data.lab,
        report_no=data.report_no,
        inspected_on=data.inspected_on,
        items=items,
        passed=all(item.passed for item in data.items),
    )
    session.add(report)
    session.flush()
    chain.append(
        session,
        batch,
        "inspecting",
        {
            "lab": data.lab,
            "report_no": data.report_no,
            "inspected_on": data.inspected_on.isoformat(),
            "passed": report.passed,
            "items": items,
            "inspection_id": report.id,
        },
        at=facts.day_time(data.inspected_on),
        actor_id=actor.id,
    )
    return report


def attach_report(session: Session, batch: Batch, inspection_id: int, data: bytes) -> Inspection:
    """The lab's report: a PDF kept as it is, or a photo of it (processed like every photo)."""
    report = session.get(Inspection, inspection_id)
    if report is None or report.batch_id != batch.id:
        raise NotFound("检测报告不存在")
    if data.startswith(b"%PDF-"):
        key = f"inspections/{report.id}/{secrets.token_hex(8)}.pdf"
        get_storage().save(key, data)
        written(session, [key])
    else:
        # Only the sharpest copy is kept: it must be legible, and nothing shows a smaller one.
        largest = max(settings.image_widths)
        processed = process_upload(data, widths=(largest,))
        key = f"{save_all(session, f'inspections/{report.id}', [processed])[0].key}-{largest}.webp"
    if report.report_file:  # replaced: the old file goes once this commits
        delete_after_commit(session, [report.report_file])
    report.report_file = key
    session.add(report)
    session.flush()
    return report
