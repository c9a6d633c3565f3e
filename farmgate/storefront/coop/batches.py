"""The desk's lots (批次与溯源): the list by product, a new lot, its page, inputs and harvest."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from farmgate.catalog import service as catalog
from farmgate.coldchain.shipments import STORAGE_NAMES
from farmgate.cooperatives import service as cooperatives
from farmgate.errors import FarmgateError
from farmgate.models import Account, Batch, Cooperative, InputKind, Product
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, clean, desk_page
from farmgate.timeutil import local_today
from farmgate.trace import lots, service, urls
from farmgate.trace.schemas import BatchIn, HarvestIn, InputIn

router = APIRouter(include_in_schema=False)

SECTION = "batches"
DONE = {
    "created": "批次已登记。下一步：登记施肥用药，再登记采收。",
    "input": "施肥用药记录已保存。",
    "input_pending": (
        "该批次已登记采收，这条采收前的施肥用药记录属于补录，需乡镇审核同意后才计入溯源记录。"
    ),
    "harvest": "采收已登记。",
    "inspection": "检测报告已保存。",
    "cert": "认证已保存。",
    "compliance": "合格证已开具，可以打印了。",
    "serials": "单品码已发放，可以打印标签了。",
    "shipment": "冷链运输已创建。下一步：上传温度记录仪文件。",
}
INPUT_KINDS = [("pesticide", "用药（农药）"), ("fertiliser", "施肥")]
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def read_date(values: dict[str, str], errors: Errors, key: str, label: str) -> date | None:
    """A date typed as 2026-12-05, 2026/12/5 or 2026年12月5日 (or picked)."""
    text = clean(values.get(key))
    if not text:
        errors[key] = f"请填写{label}，如 {local_today()}"
        return None
    match = _DATE.match(text)
    try:
        if match is None:
            raise ValueError
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        errors[key] = f"{label}格式不对，请填写如 {local_today()} 的日期"
        return None


def read_decimal(
    values: dict[str, str], errors: Errors, key: str, label: str, example: str
) -> Decimal | None:
    text = clean(values.get(key))
    if not text:
        errors[key] = f"请填写{label}，如 {example}"
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors[key] = f"{label}只能填数字，如 {example}"
        return None
    if not number.is_finite() or number <= 0:
        errors[key] = f"{label}须大于 0"
        return None
    if number.as_tuple().exponent < -3 or number >= 10**11:  # type: ignore[operator]
        errors[key] = f"{label}最多 3 位小数，如 {example}"
        return None
    return number


def pydantic_errors(exc: ValidationError, errors: Errors, names: dict[str, str]) -> None:
    """A schema's refusal, each message under our field's id."""
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        key = names.get(field, next(iter(names.values())))
        message = error["msg"].removeprefix("Value error, ")
        errors.setdefault(key, message)


def lot_context(session: Session, batch: Batch) -> dict[str, Any]:
    """What every lot page's heading shows, and whether the lot may be public yet: a pending
    or suspended cooperative prepares its lots and records, but their trace pages stay private
    and no unit codes, QR codes or labels are issued until the township approves it."""
    product = session.get(Product, batch.product_id)
    coop = session.get(Cooperative, batch.cooperative_id)
    return {"batch": batch, "product": product, "publishable": cooperatives.can_publish(coop)}


def lot_form(
    request: Request,
    session: Session,
    staff: Account,
    batch: Batch,
    template: str,
    values: dict[str, Any],
    errors: Errors,
    **extra: Any,
) -> Response:
    """A form under a lot: the lot's heading, what was typed, what was wrong, and the page's own
    context."""
    return desk_page(
        request,
        session,
        staff,
        template,
        section=SECTION,
        values=values,
        errors=errors,
        **extra,
        **lot_context(session, batch),
    )


# --- the list ---------------------------------------------------------------------------


@router.get("/coop/batches", response_class=HTMLResponse)
def lot_list(
    request: Request, session: SessionDep, staff: DeskStaff, product: str = ""
) -> Response:
    products = catalog.list_own(session, staff)
    chosen = int(product) if product.isdigit() else None
    rows = lots.lots_of(session, staff, chosen)
    names = {p.id: p.name for p in products}
    return desk_page(
        request,
        session,
        staff,
        "coop/batches.html",
        section=SECTION,
        products=products,
        chosen=chosen,
        rows=rows,
        names=names,
        storage=STORAGE_NAMES,
    )


# --- a new lot --------------------------------------------------------------------------


def _new_form(
    request: Request,
    session: Session,
    staff: Account,
    values: dict[str, str],
    errors: Errors,
) -> Response:
    products = catalog.list_own(session, staff)
    return desk_page(
        request,
        session,
        staff,
        "coop/batch_new.html",
        section=SECTION,
        values=values,
        errors=errors,
        products=[(p.id, p.name) for p in products],
    )


@router.get("/coop/batches/new", response_class=HTMLResponse)
def new_lot_form(
    request: Request, session: SessionDep, staff: DeskStaff, product: str = ""
) -> Response:
    values: dict[str, str] = {}
    if product.isdigit():
        chosen = catalog.get_owned_product(session, staff, int(product))
        values = {
            "product_id": product,
            "lot_code": lots.suggest_lot_code(session, chosen),
            "unit": "公斤",
        }
    return _new_form(request, session, staff, values, Errors())


@router.post("/coop/batches/new", response_class=HTMLResponse)
def create_lot(
    request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    errors = Errors()
    owned = {str(p.id): p for p in catalog.list_own(session, staff)}
    choice = errors.read_choice(form, "product_id", "商品", owned)
    lot_code = clean(form.get("lot_code")).upper()
    if not lot_code and choice in owned:
        lot_code = lots.suggest_lot_code(session, owned[choice])
    quantity = read_decimal(form, errors, "quantity", "数量", "500")
    unit = errors.read_text(form, "unit", "单位", max_len=10)
    plot = errors.read_text(form, "plot_name", "地块", max_len=60, required=False)
    producer = errors.read_text(form, "producer", "生产者", max_len=60)
    if not errors:
        try:
            data = BatchIn(
                product_id=int(choice),
                lot_code=lot_code,
                quantity=quantity,  # type: ignore[arg-type]
                unit=unit,
                plot_name=plot,
                producer=producer,
            )
            batch = service.create_batch(session, staff, data)
        except ValidationError as exc:
            pydantic_errors(exc, errors, {"lot_code": "lot_code", "quantity": "quantity"})
        except FarmgateError as exc:
            if exc.status in (403, 404):
                raise
            session.rollback()
            errors.absorb(exc, {"lot_code": "lot_code", "gtin": "product_id"}, "lot_code")
        else:
            return see_other(f"/coop/batches/{batch.id}?done=created")
    return _new_form(request, session, staff, {**form, "lot_code": lot_code}, errors)


# --- the lot's page ---------------------------------------------------------------------


@router.get("/coop/batches/{batch_id:int}", response_class=HTMLResponse)
def lot_page(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    return desk_page(
        request,
        session,
        staff,
        "coop/batch.html",
        section=SECTION,
        notice=DONE.get(done),
        verdict=lots.release_verdict(session, batch),
        inputs=service.inputs(session, batch, pending=True),
        input_labels=InputKind.labels(),
        inspections=lots.inspections_of(session, batch),
        certifications=lots.certifications_of(session, batch),
        shipments=lots.shipments_of(session, batch),
        trace_path=urls.trace_path(batch),
        **lot_context(session, batch),
    )


# --- inputs -----------------------------------------------------------------------------


def _input_form(
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
        "coop/batch_input.html",
        values,
        errors,
        kinds=INPUT_KINDS,
    )


@router.get("/coop/batches/{batch_id:int}/inputs/new", response_class=HTMLResponse)
def new_input_form(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    values = {"kind": "pesticide", "applied_on": str(local_today()), "preharvest_interval_days": ""}
    return _input_form(request, session, staff, batch, values, Errors())


@router.post("/coop/batches/{batch_id:int}/inputs/new", response_class=HTMLResponse)
def add_input(
    batch_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    batch = service.get_batch(session, staff, batch_id, lock=True)
    errors = Errors()
    kind = errors.read_choice(form, "kind", "类别", dict(INPUT_KINDS))
    name = errors.read_text(form, "product_name", "投入品名称", max_len=60)
    registration = errors.read_text(form, "registration_no", "登记证号", max_len=30, required=False)
    dose = errors.read_text(form, "dose", "用量", max_len=40)
    applied = read_date(form, errors, "applied_on", "施用日期")
    if applied and applied > local_today():
        errors["applied_on"] = "施用日期不能晚于今天"
    interval = 0
    if kind == "pesticide" or clean(form.get("preharvest_interval_days")):
        interval = errors.read_integer(
            form, "preharvest_interval_days", "安全间隔期", low=0, high=365, example="7"
        )
    if not errors:
        try:
            data = InputIn(
                kind=kind,  # type: ignore[arg-type]
                product_name=name,
                registration_no=registration,
                dose=dose,
                applied_on=applied,  # type: ignore[arg-type]
                preharvest_interval_days=interval,
            )
            record = service.add_input(session, staff, batch, data)
        except FarmgateError as exc:
            session.rollback()
            errors["applied_on" if "applied_on" in exc.fields else "product_name"] = exc.message
        else:
            done = "input_pending" if record.approval == "pending" else "input"
            return see_other(f"/coop/batches/{batch_id}?done={done}")
    return _input_form(request, session, staff, batch, form, errors)


# --- harvest ----------------------------------------------------------------------------


def _harvest_form(
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
        "coop/batch_harvest.html",
        values,
        errors,
        verdict=lots.release_verdict(session, batch),
        inputs=service.inputs(session, batch),
        input_labels=InputKind.labels(),
    )


@router.get("/coop/batches/{batch_id:int}/harvest", response_class=HTMLResponse)
def harvest_form(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    values = {"harvest_date": str(batch.harvest_date or local_today())}
    return _harvest_form(request, session, staff, batch, values, Errors())


@router.post("/coop/batches/{batch_id:int}/harvest", response_class=HTMLResponse)
def record_harvest(
    batch_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    batch = service.get_batch(session, staff, batch_id, lock=True)
    errors = Errors()
    harvested = read_date(form, errors, "harvest_date", "采收日期")
    note = errors.read_text(form, "note", "备注", max_len=200, required=False)
    if not errors:
        try:
            service.record_harvest(
                session,
                staff,
                batch,
                HarvestIn(harvest_date=harvested, note=note),  # type: ignore[arg-type]
            )
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            # The whole refusal (which input, the interval, the first allowed day).
            errors["harvest_date"] = exc.message
            batch = service.get_batch(session, staff, batch_id)
        else:
            return see_other(f"/coop/batches/{batch_id}?done=harvest")
    return _harvest_form(request, session, staff, batch, form, errors)
