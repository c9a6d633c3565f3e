"""普通发票 on paid orders: the buyer asks, each cooperative in the order issues its own.

An order may hold several cooperatives' goods and each is its own seller, so asking makes one
request per cooperative (its goods plus its shipping). The cooperative marks it issued with
the PDF; only the buyer, that cooperative's staff and the admin can fetch it (anyone else: 404).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.interfaces import ORMOption
from sqlmodel import col

from farmgate import audit
from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.errors import Conflict, NotFound, ValidationFailed
from farmgate.models import (
    Account,
    Cooperative,
    Fulfilment,
    InvoiceRequest,
    InvoiceStatus,
    InvoiceTitleType,
    Order,
    OrderStatus,
    Role,
)
from farmgate.validators import normalize_uscc

# Money was taken and not all given back: an invoice can be asked for.
INVOICEABLE = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
        OrderStatus.REFUND_REQUESTED,
    }
)


@dataclass(frozen=True)
class InvoiceForm:
    title_type: str
    title: str
    tax_number: str = ""


def can_ask(order: Order) -> bool:
    return order.status in INVOICEABLE


def _light() -> list[ORMOption]:
    """Leave the PDF bytes out of lists and checks (loaded only when downloaded)."""
    return [defer(InvoiceRequest.pdf)]  # type: ignore[arg-type]


def for_order(session: Session, order: Order) -> list[InvoiceRequest]:
    return list(
        session.scalars(
            select(InvoiceRequest)
            .options(*_light())
            .where(col(InvoiceRequest.order_id) == order.id)
            .order_by(col(InvoiceRequest.id))
        )
    )


def check_form(form: InvoiceForm) -> InvoiceForm:
    """The form cleaned; ValidationFailed with a message per field."""
    errors: dict[str, str] = {}
    kind = form.title_type
    if kind not in InvoiceTitleType.labels():
        errors["title_type"] = "请选择抬头类型：个人或单位"
    title = " ".join(form.title.split())
    if not title:
        errors["title"] = (
            "请填写单位全称"
            if kind == InvoiceTitleType.COMPANY
            else "请填写抬头（您的姓名或“个人”）"
        )
    elif len(title) > 100:
        errors["title"] = "抬头不能超过100个字"
    tax = ""
    if kind == InvoiceTitleType.COMPANY:
        try:
            tax = normalize_uscc(form.tax_number)
        except ValueError as exc:
            errors["tax_number"] = (
                "单位抬头请填写税号（统一社会信用代码）"
                if not form.tax_number.strip()
                else str(exc)
            )
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    return InvoiceForm(kind, title, tax)


def ask(session: Session, buyer: Account, order: Order, form: InvoiceForm) -> list[InvoiceRequest]:
    """One request per cooperative of ``order``; asking again (a form sent twice) returns
    the requests already made."""
    if order.account_id != buyer.id:
        raise NotFound("订单不存在")
    existing = for_order(session, order)
    if existing:
        return existing
    if not can_ask(order):
        raise Conflict("订单付款后才能申请发票", code="order_not_paid")
    clean = check_form(form)
    parts = session.scalars(
        select(Fulfilment).where(col(Fulfilment.order_id) == order.id).order_by(col(Fulfilment.id))
    )
    made = [
        InvoiceRequest(
            order_id=order.id or 0,
            cooperative_id=part.cooperative_id,
            account_id=buyer.id or 0,
            title_type=InvoiceTitleType(clean.title_type),
            title=clean.title,
            tax_number=clean.tax_number,
            amount_fen=part.items_fen + part.shipping_fen,
        )
        for part in parts
    ]
    try:
        with session.begin_nested():
            session.add_all(made)
    except IntegrityError:
        # The same form, sent twice at once: the other request made them.
        return for_order(session, order)
    return made


def list_for_cooperative(
    session: Session, staff: Account, *, issued: bool = False, limit: int = 200
) -> list[tuple[InvoiceRequest, str]]:
    """The staff member's cooperative's requests (waiting, or issued), with order numbers."""
    wanted = InvoiceStatus.ISSUED if issued else InvoiceStatus.REQUESTED
    rows = session.execute(
        select(InvoiceRequest, col(Order.number))
        .options(*_light())
        .join(Order, col(Order.id) == InvoiceRequest.order_id)
        .where(
            col(InvoiceRequest.cooperative_id) == (staff.cooperative_id or 0),
            col(InvoiceRequest.status) == wanted,
        )
        .order_by(col(InvoiceRequest.id).desc() if issued else col(InvoiceRequest.id))
        .limit(limit)
    ).all()
    return [(r, n) for r, n in rows]


def waiting_count(session: Session, staff: Account) -> int:
    return len(list_for_cooperative(session, staff))


def get_for_staff(
    session: Session, staff: Account, request_id: int, *, lock: bool = False
) -> InvoiceRequest:
    row = session.get(InvoiceRequest, request_id, options=_light(), with_for_update=lock)
    if row is None or staff.role != Role.COOPERATIVE or row.cooperative_id != staff.cooperative_id:
        raise NotFound("发票申请不存在")
    return row


def check_pdf(data: bytes) -> None:
    """A PDF by its content (header and end marker), within the size limit."""
    limit = settings.invoice_pdf_max_bytes
    if not data:
        raise ValidationFailed("请选择发票的 PDF 文件", fields={"pdf": "请选择发票的 PDF 文件"})
    if len(data) > limit:
        message = f"文件太大：发票 PDF 不能超过 {limit // (1024 * 1024) or 1} MB"
        raise ValidationFailed(message, fields={"pdf": message})
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        message = "这个文件不是 PDF。请上传税务系统下载的发票 PDF 文件"
        raise ValidationFailed(message, fields={"pdf": message})


def issue(
    session: Session, staff: Account, request_id: int, data: bytes, invoice_no: str = ""
) -> InvoiceRequest:
    """Mark issued with its PDF (a second upload replaces the file: a corrected invoice)."""
    row = get_for_staff(session, staff, request_id, lock=True)
    invoice_no = " ".join(invoice_no.split())
    if len(invoice_no) > 40:
        raise ValidationFailed(
            "发票号码不能超过40个字", fields={"invoice_no": "发票号码不能超过40个字"}
        )
    check_pdf(data)
    before = {"status": str(row.status), "pdf_size": row.pdf_size}
    row.status, row.pdf, row.pdf_size = InvoiceStatus.ISSUED, data, len(data)
    row.invoice_no = invoice_no
    row.issued_at, row.issued_by = utcnow(), staff.id
    session.add(row)
    order = session.get(Order, row.order_id)
    audit.record(
        session,
        staff,
        "invoice.issue",
        "invoice_request",
        row.id,
        f"订单 {order.number if order else row.order_id} 的发票已开具",
        before=before,
        after={"status": "issued", "pdf_size": len(data), "invoice_no": invoice_no},
    )
    session.flush()
    return row


def pdf_for(
    session: Session, actor: Account | None, request_id: int
) -> tuple[InvoiceRequest, str, bytes]:
    """An issued invoice's PDF for the buyer, the cooperative's staff or the admin:
    (request, order number, bytes); NotFound for anyone else or before it is issued."""
    row = session.get(InvoiceRequest, request_id)
    allowed = (
        row is not None
        and actor is not None
        and (
            actor.role == Role.ADMIN
            or actor.id == row.account_id
            or (actor.role == Role.COOPERATIVE and actor.cooperative_id == row.cooperative_id)
        )
    )
    if not allowed or row is None or row.status != InvoiceStatus.ISSUED or not row.pdf:
        raise NotFound("发票不存在")
    order = session.get(Order, row.order_id)
    return row, order.number if order else str(row.order_id), row.pdf


def cooperative_names(session: Session, rows: list[InvoiceRequest]) -> dict[int, str]:
    ids = {r.cooperative_id for r in rows}
    return dict(
        session.execute(
            select(col(Cooperative.id), col(Cooperative.name)).where(col(Cooperative.id).in_(ids))
        ).all()  # type: ignore[arg-type]
    )
