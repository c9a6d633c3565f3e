"""What needs a person at the township today: one count per queue of the console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.models import (
    Alert,
    Cooperative,
    CooperativeStatus,
    DeadJob,
    Order,
    OrderStatus,
    Parcel,
    PaymentIntent,
    Product,
    ProductStatus,
    RefundRequest,
    RefundRequestStatus,
)
from farmgate.models.parcel import WaybillCreate
from farmgate.models.payment import IntentStatus


@dataclass(frozen=True)
class Todo:
    key: str
    label: str
    url: str
    count: int


def _count(session: Session, model: type, *where: object) -> int:
    query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
    return session.scalar(query) or 0


def today(session: Session) -> list[Todo]:
    """The console's work queues, in the order of a working day, each with its count."""
    late = utcnow() - timedelta(hours=settings.refund_answer_hours)
    cash_waiting = (
        select(func.count(func.distinct(col(PaymentIntent.order_id))))
        .join(Order, col(Order.id) == PaymentIntent.order_id)
        .where(
            col(PaymentIntent.channel) == "cash",
            col(PaymentIntent.status) == IntentStatus.CREATED,
            col(Order.status) == OrderStatus.PENDING_PAYMENT,
        )
    )
    return [
        Todo(
            "cooperatives",
            "合作社入驻申请待审核",
            "/township/review/cooperatives",
            _count(session, Cooperative, col(Cooperative.status) == CooperativeStatus.PENDING)
            + _count(session, Cooperative, col(Cooperative.pending_name) != ""),
        ),
        Todo(
            "products",
            "商品待审核",
            "/township/review/products",
            _count(session, Product, col(Product.status) == ProductStatus.PENDING_REVIEW),
        ),
        Todo("cash", "服务站现金订单待收款", "/township/cash", session.scalar(cash_waiting) or 0),
        Todo(
            "refunds",
            f"退款申请超过{settings.refund_answer_hours}小时未答复",
            "/township/refunds",
            _count(
                session,
                RefundRequest,
                col(RefundRequest.status) == RefundRequestStatus.OPEN,
                col(RefundRequest.created_at) < late,
            ),
        ),
        Todo(
            "alerts",
            "冷链温度超标预警未处理",
            "/township/alerts",
            _count(session, Alert, col(Alert.kind) == "excursion", col(Alert.read_at).is_(None)),
        ),
        Todo(
            "waybills",
            "包裹待核对运单",
            "/township/jobs",
            _count(session, Parcel, col(Parcel.create_state) == WaybillCreate.CHECK),
        ),
        Todo(
            "jobs",
            "后台任务失败待处理",
            "/township/jobs",
            _count(session, DeadJob, col(DeadJob.redriven_at).is_(None)),
        ),
        Todo(
            "recalls",
            "召回进行中",
            "/township/recalls",
            _count(session, Alert, col(Alert.kind) == "recall", col(Alert.read_at).is_(None)),
        ),
    ]
