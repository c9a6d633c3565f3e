"""A lot's QR codes on the desk: issue per-unit codes, preview the lot's code, print sheets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError
from farmgate.models import Account, Batch
from farmgate.rendering import labels
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.batches import lot_context, lot_form
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors
from farmgate.storefront.coop.records import file_download
from farmgate.trace import lots, service, urls

router = APIRouter(include_in_schema=False)

# Sheet layouts offered: (paper, columns, rows, what the person sees).
LAYOUTS = {
    "a4-40": ("A4", 4, 10, "A4 不干胶 40 格（4 列 × 10 行，每格约 4.9 × 2.8 厘米）"),
    "a4-24": ("A4", 3, 8, "A4 不干胶 24 格（3 列 × 8 行）"),
    "a4-12": ("A4", 2, 6, "A4 大标签 12 格（2 列 × 6 行）"),
    "a5-8": ("A5", 2, 4, "A5 纸 8 格（2 列 × 4 行）"),
}
MAX_LABELS_PER_PDF = labels.MAX_LABELS  # ten A4 sheets of 40: one print run on a phone


# --- per-unit codes ---------------------------------------------------------------------


def _serials_page(
    request: Request,
    session: Session,
    staff: Account,
    batch: Batch,
    values: dict[str, str],
    errors: Errors,
) -> Response:
    return lot_form(
        request,
        session,
        staff,
        batch,
        "coop/serials.html",
        values,
        errors,
        cap=lots.MAX_SERIALS_PER_ISSUE,
    )


@router.get("/coop/batches/{batch_id:int}/serials", response_class=HTMLResponse)
def serials_form(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    return _serials_page(request, session, staff, batch, {}, Errors())


@router.post("/coop/batches/{batch_id:int}/serials", response_class=HTMLResponse)
def issue_serials(
    batch_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    batch = service.get_batch(session, staff, batch_id, lock=True)
    errors = Errors()
    count = errors.read_integer(
        form, "count", "数量", low=1, high=lots.MAX_SERIALS_PER_ISSUE, example="100"
    )
    if not errors:
        try:
            first, last = lots.issue_serials(session, batch, count)
        except FarmgateError as exc:
            session.rollback()
            errors["count"] = exc.message
            batch = service.get_batch(session, staff, batch_id)
        else:
            return see_other(
                f"/coop/batches/{batch_id}/labels?kind=unit&start={first}&count={last - first + 1}"
                "&done=serials"
            )
    return _serials_page(request, session, staff, batch, form, errors)


# --- labels -----------------------------------------------------------------------------


def _labels_page(
    request: Request,
    session: Session,
    staff: Account,
    batch: Batch,
    values: dict[str, str],
    errors: Errors,
    notice: str | None = None,
) -> Response:
    return lot_form(
        request,
        session,
        staff,
        batch,
        "coop/labels.html",
        values,
        errors,
        notice=notice,
        layouts=[(k, v[3]) for k, v in LAYOUTS.items()],
        most=MAX_LABELS_PER_PDF,
        trace_url=urls.trace_url(batch),
    )


def _label_values(batch: Batch, query: dict[str, str]) -> dict[str, str]:
    unit = batch.serial_count > 0
    return {
        "kind": query.get("kind") or ("unit" if unit else "lot"),
        "layout": query.get("layout") or "a4-40",
        "start": query.get("start") or ("1" if unit else ""),
        "count": query.get("count") or (str(min(batch.serial_count, 40)) if unit else "40"),
    }


@router.get("/coop/batches/{batch_id:int}/labels", response_class=HTMLResponse)
def labels_page(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    values = _label_values(batch, dict(request.query_params))
    notice = "单品码已发放，可以打印标签了。" if done == "serials" else None
    return _labels_page(request, session, staff, batch, values, Errors(), notice)


@router.get("/coop/batches/{batch_id:int}/qr.png")
def lot_qr(batch_id: int, session: SessionDep, staff: DeskStaff) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    product = lot_context(session, batch)["product"]
    png = labels.qr_png(
        urls.trace_url(batch), product.name if product else "", f"批次 {batch.lot_code}"
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/coop/batches/{batch_id:int}/labels.pdf", response_class=HTMLResponse)
def label_sheet(batch_id: int, request: Request, session: SessionDep, staff: DeskStaff) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    values = _label_values(batch, dict(request.query_params))
    errors = Errors()
    kind = errors.read_choice(values, "kind", "标签种类", ("lot", "unit"))
    layout = errors.read_choice(values, "layout", "标签纸", LAYOUTS)
    count = errors.read_integer(
        values, "count", "张数", low=1, high=MAX_LABELS_PER_PDF, example="40"
    )
    start = 1
    if kind == "unit":
        if batch.serial_count == 0:
            errors["kind"] = "还没有发放单品码：请先点「发放单品码」，或选择打印批次码"
        else:
            start = errors.read_integer(
                values, "start", "从第几个单品码开始", low=1, high=batch.serial_count, example="1"
            )
            if not errors and start + count - 1 > batch.serial_count:
                errors["count"] = (
                    f"只发放了 {batch.serial_count} 个单品码，从第 {start} 个起最多打印 "
                    f"{batch.serial_count - start + 1} 张"
                )
    if errors:
        return _labels_page(request, session, staff, batch, values, errors)
    product = lot_context(session, batch)["product"]
    title = product.name if product else ""
    if kind == "unit":
        items = [
            labels.Label(urls.trace_url(batch, code), title, f"批次 {batch.lot_code} · {code}")
            for code in urls.serials(batch, start, count)
        ]
    else:
        items = [labels.Label(urls.trace_url(batch), title, f"批次 {batch.lot_code}")] * count
    paper, columns, rows, _ = LAYOUTS[layout]
    pdf = labels.label_sheet_pdf(items, columns=columns, rows=rows, page=paper)
    name = f"labels-{batch.lot_code}-{kind}-{start}.pdf"
    return file_download(pdf, "application/pdf", name)
