"""A lot's evidence on the desk: inspections with the lab's report, certifications, and the
承诺达标合格证 issued and printed (A6, or four to an A4 sheet)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from farmgate.config import settings
from farmgate.errors import FarmgateError, ValidationFailed
from farmgate.models import Account, Batch
from farmgate.rendering.compliance import BASIS_BOXES, SIZES, certificate_pdf
from farmgate.storefront.common import see_other
from farmgate.storefront.coop.batches import (
    lot_form,
    pydantic_errors,
    read_date,
)
from farmgate.storefront.coop.deps import DeskStaff, FormValues, Multipart, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, clean
from farmgate.timeutil import local_today
from farmgate.trace import certificates, inspections, lots, service, urls
from farmgate.trace.schemas import CertificationIn, InspectionIn, InspectionItem

router = APIRouter(include_in_schema=False)

ITEM_ROWS = 3
CERT_KINDS = [(k, v) for k, v in certificates.LABELS.items() if k != "compliance_cert"]
SCOPES = [
    ("product", "这件商品的所有批次"),
    ("cooperative", "本合作社所有商品"),
    ("batch", "只有这个批次"),
]
CODE_HINTS = {
    "green_food": "绿色食品企业信息码：GF 加 12 位数字",
    "organic": "有机码：17 位数字",
    "geo_indication": "登记证书编号：AGI 加 5 位数字",
}


def file_download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _texts(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


# --- inspections ------------------------------------------------------------------------


def _inspection_form(
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
        "coop/inspection_new.html",
        values,
        errors,
        rows=range(1, ITEM_ROWS + 1),
        max_mb=settings.max_upload_bytes // 1024 // 1024,
    )


@router.get("/coop/batches/{batch_id:int}/inspections/new", response_class=HTMLResponse)
def new_inspection_form(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    values = {"inspected_on": str(local_today()), "passed_1": "1"}
    return _inspection_form(request, session, staff, batch, values, Errors())


def _report_file(form: FormData, errors: Errors) -> bytes | None:
    upload = form.get("report")
    if not isinstance(upload, UploadFile):
        return None
    data = upload.file.read(settings.max_upload_bytes + 1)
    name = (upload.filename or "").lower()
    if not data and not name:
        return None
    if len(data) > settings.max_upload_bytes:
        errors["report"] = f"文件不能超过 {settings.max_upload_bytes // 1024 // 1024} MB"
    elif not data:
        errors["report"] = "上传的文件是空的"
    elif name.endswith(".pdf") and not data.startswith(b"%PDF-"):
        errors["report"] = (
            "这个文件不是真正的 PDF（可能只是改了名字），请上传检测机构给的 PDF 或报告的照片"
        )
    return data


@router.post("/coop/batches/{batch_id:int}/inspections/new", response_class=HTMLResponse)
def add_inspection(
    batch_id: int, request: Request, form: Multipart, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    batch = service.get_batch(session, staff, batch_id, lock=True)
    values = _texts(form)
    errors = Errors()
    lab = errors.read_text(values, "lab", "检测机构", max_len=80)
    report_no = errors.read_text(values, "report_no", "报告编号", max_len=40)
    inspected = read_date(values, errors, "inspected_on", "检测日期")
    if inspected and inspected > local_today():
        errors["inspected_on"] = "检测日期不能晚于今天"
    items = []
    for row in range(1, ITEM_ROWS + 1):
        keys = (f"item_{row}", f"result_{row}", f"limit_{row}")
        if row > 1 and not any(clean(values.get(k)) for k in keys):
            continue
        name = errors.read_text(values, f"item_{row}", "检测项目", max_len=40)
        result = errors.read_text(values, f"result_{row}", "检测结果", max_len=40)
        limit = errors.read_text(values, f"limit_{row}", "限量标准", max_len=40, required=False)
        passed = errors.read_choice(values, f"passed_{row}", "是否合格", ("1", "0"))
        if name and result and passed:
            items.append(
                InspectionItem(name=name, result=result, limit=limit, passed=passed == "1")
            )
    report = _report_file(form, errors)
    if not errors:
        try:
            data = InspectionIn(
                lab=lab,
                report_no=report_no,
                inspected_on=inspected,  # type: ignore[arg-type]
                items=items,
            )
            record = inspections.add_inspection(session, staff, batch, data)
            if report is not None:
                inspections.attach_report(session, batch, record.id or 0, report)
        except ValidationError as exc:
            pydantic_errors(exc, errors, {"lab": "lab", "report_no": "report_no"})
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()  # the inspection goes too: nothing is kept half-done
            errors["report" if report is not None else "lab"] = (
                "报告文件不是 PDF，也不是能打开的照片（JPEG、PNG 或 WebP）"
                if exc.code in ("not_an_image", "unsupported_image")
                else exc.message
            )
            batch = service.get_batch(session, staff, batch_id)
        else:
            return see_other(f"/coop/batches/{batch_id}?done=inspection")
    return _inspection_form(request, session, staff, batch, values, errors)


# --- certifications ---------------------------------------------------------------------


def _cert_form(
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
        "coop/cert_new.html",
        values,
        errors,
        kinds=CERT_KINDS,
        scopes=SCOPES,
        code_hint="；".join(CODE_HINTS.values()),
    )


@router.get("/coop/batches/{batch_id:int}/certifications/new", response_class=HTMLResponse)
def new_cert_form(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    return _cert_form(request, session, staff, batch, {"scope": "product"}, Errors())


@router.post("/coop/batches/{batch_id:int}/certifications/new", response_class=HTMLResponse)
def add_cert(
    batch_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    batch = service.get_batch(session, staff, batch_id, lock=True)
    errors = Errors()
    kind = errors.read_choice(form, "kind", "证书类型", dict(CERT_KINDS))
    code = errors.read_text(form, "code", "证书编号", max_len=40)
    issuer = errors.read_text(form, "issuer", "发证机构", max_len=80, required=False)
    issued = read_date(form, errors, "issued_on", "发证日期")
    expires: date | None = None
    if clean(form.get("expires_on")):
        expires = read_date(form, errors, "expires_on", "有效期至")
    scope = errors.read_choice(form, "scope", "适用范围", dict(SCOPES))
    if not errors:
        try:
            data = CertificationIn(
                kind=kind,  # type: ignore[arg-type]
                code=code,
                issuer=issuer,
                issued_on=issued,  # type: ignore[arg-type]
                expires_on=expires,
                scope=scope,  # type: ignore[arg-type]
            )
            certificates.add_certification(session, staff, batch, data)
        except FarmgateError as exc:
            session.rollback()
            errors.absorb(exc, {"code": "code", "expires_on": "expires_on"}, "code")
            batch = service.get_batch(session, staff, batch_id)
        else:
            return see_other(f"/coop/batches/{batch_id}?done=cert")
    return _cert_form(request, session, staff, batch, form, errors)


# --- the 承诺达标合格证 -------------------------------------------------------------------

COMPLIANCE_FIELDS = {
    name: name
    for name in (
        "product_name",
        "quantity",
        "unit",
        "origin",
        "committer",
        "contact",
        "issued_on",
        "code",
        "harvest",
    )
} | {"basis": "bases", "commitment": "commitment"}


def _compliance_form(
    request: Request,
    session: Session,
    staff: Account,
    batch: Batch,
    values: dict[str, Any],
    errors: Errors,
) -> Response:
    return lot_form(
        request,
        session,
        staff,
        batch,
        "coop/compliance_new.html",
        values,
        errors,
        boxes=list(BASIS_BOXES.items()),
        verdict=lots.release_verdict(session, batch),
    )


@router.get("/coop/batches/{batch_id:int}/compliance/new", response_class=HTMLResponse)
def new_compliance_form(
    batch_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    values: dict[str, Any] = {
        k: str(v) for k, v in lots.compliance_defaults(session, batch).items()
    }
    values["bases"] = []
    return _compliance_form(request, session, staff, batch, values, Errors())


@router.post("/coop/batches/{batch_id:int}/compliance/new", response_class=HTMLResponse)
def issue_compliance(
    batch_id: int, request: Request, form: Multipart, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    batch = service.get_batch(session, staff, batch_id, lock=True)
    values: dict[str, Any] = _texts(form)
    values["bases"] = [b for b in form.getlist("bases") if isinstance(b, str)]
    errors = Errors()
    issued = read_date(values, errors, "issued_on", "开具日期")
    cert = certificates.ComplianceCertificate(
        product_name=clean(values.get("product_name")),
        quantity=clean(values.get("quantity")),
        unit=clean(values.get("unit")),
        origin=clean(values.get("origin")),
        issued_on=issued,
        committer=clean(values.get("committer")),
        contact=clean(values.get("contact")),
        basis=tuple(values["bases"]),
        commitment=clean(values.get("commitment")) or certificates.COMMITMENT,
        code=clean(values.get("code")).upper(),
    )
    if not errors:
        try:
            made = lots.issue_compliance(session, staff, batch, cert)
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors.absorb(exc, COMPLIANCE_FIELDS, "product_name")
            batch = service.get_batch(session, staff, batch_id)
        else:
            return see_other(f"/coop/batches/{batch_id}?done=compliance#cert-{made.id}")
    return _compliance_form(request, session, staff, batch, values, errors)


@router.get("/coop/batches/{batch_id:int}/compliance/{cert_id:int}.pdf")
def compliance_pdf(
    batch_id: int,
    cert_id: int,
    session: SessionDep,
    staff: DeskStaff,
    size: str = "A6",
) -> Response:
    batch = service.get_batch(session, staff, batch_id)
    row = lots.compliance_certificate(session, batch, cert_id)
    if size not in SIZES:
        raise ValidationFailed("纸张只能选 A6 或 A4", fields={"size": size[:10]})
    cert = certificates.ComplianceCertificate.from_details(row.details, row.issued_on)
    pdf = certificate_pdf(cert, size=size, trace_url=urls.trace_url(batch))
    return file_download(pdf, "application/pdf", f"hegezheng-{batch.lot_code}-{size}.pdf")
