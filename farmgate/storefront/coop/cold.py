"""Cold chain on the desk: a shipment for a chilled or frozen lot, the logger's file uploaded,
and the analysis shown the way the consumer's trace page shows it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from farmgate.coldchain import readings, shipments
from farmgate.config import settings
from farmgate.errors import FarmgateError
from farmgate.models import Account, Batch, ColdShipment
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.batches import SECTION, lot_context, lot_form
from farmgate.storefront.coop.deps import (
    DeskStaff,
    FormValues,
    Multipart,
    SessionDep,
    check_csrf,
)
from farmgate.storefront.coop.forms import Errors, clean, desk_page
from farmgate.trace import service

router = APIRouter(include_in_schema=False)

SHOWN_BAD_ROWS = 50  # the rest are counted, not listed: the page stays small


def _where(key: str) -> str:
    """The parser's "line 7" / "item 3" in words people use."""
    match = re.fullmatch(r"(line|item) (\d+)", key)
    if match is None:
        return "设备" if key == "device_id" else key
    return f"第 {match.group(2)} 行" if match.group(1) == "line" else f"第 {match.group(2)} 条"


# --- a new shipment ---------------------------------------------------------------------


def _new_form(
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
        "coop/shipment_new.html",
        values,
        errors,
        storage=shipments.STORAGE_NAMES,
    )


@router.get("/coop/batches/{batch_id:int}/shipments/new", response_class=HTMLResponse)
def new_shipment_form(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    return _new_form(request, session, staff, batch, {}, Errors())


@router.post("/coop/batches/{batch_id:int}/shipments/new", response_class=HTMLResponse)
def create_shipment(
    batch_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    batch = service.get_batch(session, staff, batch_id, lock=True)
    errors = Errors()
    device = clean(form.get("device_id"))
    if not device:
        errors["device_id"] = "请填写温度记录仪编号（记录仪背面或导出文件里的 device_id）"
    elif len(device) > 40:
        errors["device_id"] = "记录仪编号最多 40 个字符"
    if not errors:
        try:
            shipment = shipments.start_for_lot(session, staff, batch, device)
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors["device_id"] = exc.message
            batch = service.get_batch(session, staff, batch_id)
        else:
            return see_other(f"/coop/shipments/{shipment.id}?done=created")
    return _new_form(request, session, staff, batch, form, errors)


# --- a shipment and its logger file -----------------------------------------------------


def _page(
    request: Request,
    session: Session,
    staff: Account,
    shipment: ColdShipment,
    errors: Errors | None = None,
    notice: str | None = None,
    bad_rows: list[tuple[str, str]] | None = None,
    hidden_bad: int = 0,
    status: int = 200,
) -> Response:
    batch = service.get_batch(session, staff, shipment.batch_id)
    view: dict[str, Any] = next(
        v for v in shipments.views(session, batch) if v["id"] == shipment.id
    )
    return desk_page(
        request,
        session,
        staff,
        "coop/shipment.html",
        section=SECTION,
        shipment=shipment,
        sh=view,
        errors=errors or Errors(),
        notice=notice,
        bad_rows=bad_rows or [],
        hidden_bad=hidden_bad,
        max_mb=settings.max_upload_bytes // 1024 // 1024,
        status=status,
        **lot_context(session, batch),
    )


@router.get("/coop/shipments/{shipment_id:int}", response_class=HTMLResponse)
def shipment_page(
    shipment_id: int,
    request: Request,
    session: SessionDep,
    staff: DeskStaff,
    done: str = "",
    added: str = "",
    duplicates: str = "",
) -> Response:
    shipment = shipments.get_shipment(session, staff, shipment_id)
    notice = "冷链运输已创建。下一步：上传温度记录仪导出的文件。" if done == "created" else None
    if done == "uploaded" and added.isdigit():
        notice = f"已保存 {added} 条新读数" + (
            f"，{duplicates} 条以前上传过（没有重复保存）" if duplicates not in ("", "0") else ""
        )
    return _page(request, session, staff, shipment, notice=notice)


@router.post("/coop/shipments/{shipment_id:int}", response_class=HTMLResponse)
def upload_logger_file(
    shipment_id: int, request: Request, form: Multipart, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    shipment = shipments.get_shipment(session, staff, shipment_id)
    errors = Errors()
    upload = form.get("logger_file")
    data = b""
    name = ""
    if isinstance(upload, UploadFile):
        data = upload.file.read(settings.max_upload_bytes + 1)
        name = (upload.filename or "").lower()
    if not data:
        errors["logger_file"] = "请选择温度记录仪导出的 CSV 或 JSON 文件"
    elif len(data) > settings.max_upload_bytes:
        errors["logger_file"] = f"文件不能超过 {settings.max_upload_bytes // 1024 // 1024} MB"
    if errors:
        return _page(request, session, staff, shipment, errors)
    kind = "application/json" if name.endswith(".json") or data.lstrip()[:1] == b"[" else "text/csv"
    try:
        result = readings.upload_readings(session, staff, shipment, data, kind)
    except FarmgateError as exc:
        session.rollback()
        detail = "；".join(str(v) for v in exc.fields.values())
        errors["logger_file"] = exc.message + (f"：{detail}" if detail else "")
        shipment = shipments.get_shipment(session, staff, shipment_id)
        return _page(request, session, staff, shipment, errors)
    if result["errors"]:
        # The good rows are kept (a re-upload adds nothing twice); the bad ones are listed
        # here, where the person can compare them with the file.
        bad = [(_where(k), str(v)) for k, v in result["errors"].items()]
        notice = f"已保存 {result['added']} 条新读数；下面 {len(bad)} 处有问题，没有保存。"
        return _page(
            request,
            session,
            staff,
            shipment,
            notice=notice,
            bad_rows=bad[:SHOWN_BAD_ROWS],
            hidden_bad=max(0, len(bad) - SHOWN_BAD_ROWS),
        )
    return see_other(
        f"/coop/shipments/{shipment_id}?done=uploaded&added={result['added']}"
        f"&duplicates={result['duplicates']}"
    )
