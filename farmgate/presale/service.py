"""Pre-sales: a cooperative sells a SKU before its harvest; the harvest decides who is served.

Terms, shown to the buyer before buying (``terms``): with a deposit (定金), the balance (尾款)
is paid from the order page once the harvest is recorded and before the deadline; a balance
offered after the deadline is refused, and the order is cancelled with the deposit refunded
(原路退回) when the cooperative closes the pre-sale. If the harvest fails or falls short, the
orders it cannot fill are refunded in full, the last paid first (先付先得).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog.service import require_staff
from farmgate.db import pk, utcnow
from farmgate.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from farmgate.models import (
    Account,
    Batch,
    Fulfilment,
    FulfilmentStatus,
    IntentStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentIntent,
    Presale,
    PresaleOrder,
    PresaleStatus,
    Product,
    Sku,
)
from farmgate.orders import service as orders
from farmgate.orders import state
from farmgate.payments import service as payments
from farmgate.payments.provider import Channel
from farmgate.presale import tasks
from farmgate.timeutil import LOCAL_TZ


def ship_window(presale: Presale) -> str:
    """``12月20日 至 12月25日``: the expected ship window, for every page that shows it."""
    a, b = presale.ship_from, presale.ship_to
    return f"{a.month}月{a.day}日" if a == b else f"{a.month}月{a.day}日 至 {b.month}月{b.day}日"


def terms(presale: Presale) -> str:
    """The pre-sale's terms in plain Chinese, shown on the product page before buying."""
    ship = f"预计 {ship_window(presale)} 发货"
    if not presale.deposit_fen:
        pay = "下单时付全款"
    else:
        due = presale.balance_due
        when = f"{due.astimezone(LOCAL_TZ).strftime('%m月%d日 %H:%M')} 前" if due else "发货前"
        pay = (
            f"先付定金 {presale.deposit_fen / 100:.2f} 元/件，采收后于 {when}在订单页付尾款；"
            "逾期未付尾款，订单取消，定金原路退回"
        )
    return f"{ship}。{pay}。若采收失败或不足，按付款先后发货，其余订单全额自动退款。"


@dataclass(frozen=True)
class PresaleIn:
    sku_id: int
    harvest_from: date
    ship_from: date
    ship_to: date
    cap: int
    deposit_fen: int = 0
    balance_due: datetime | None = None


def open_presale(session: Session, staff: Account, data: PresaleIn) -> Presale:
    """Open a pre-sale of one of the staff's SKUs; its stock becomes the cap."""
    coop_id = require_staff(staff)
    sku = session.get(Sku, data.sku_id, with_for_update=True)
    product = session.get(Product, sku.product_id) if sku else None
    if sku is None or product is None or product.cooperative_id != coop_id:
        raise NotFound("规格不存在")
    errors: dict[str, str] = {}
    if not 0 < data.cap <= 1_000_000:
        errors["cap"] = "预售数量应在 1 到 1000000 之间"
    if data.ship_from < data.harvest_from:
        errors["ship_from"] = "发货日期不能早于预计采收日期"
    if data.ship_to < data.ship_from:
        errors["ship_to"] = "发货结束日期不能早于开始日期"
    if data.deposit_fen < 0 or (data.deposit_fen and data.deposit_fen >= sku.price_fen):
        errors["deposit"] = f"定金应少于售价 {sku.price_fen / 100:.2f} 元"
    if data.deposit_fen and data.balance_due is None:
        errors["balance_due"] = "收定金的预售需要尾款截止日期"
    if (
        data.balance_due is not None
        and data.balance_due.astimezone(LOCAL_TZ).date() < data.harvest_from
    ):
        errors["balance_due"] = "尾款截止日期不能早于预计采收日期"
    if errors:
        raise ValidationFailed("预售信息有误", fields=errors)
    existing = session.scalars(
        select(Presale).where(
            col(Presale.sku_id) == sku.id,
            col(Presale.status).in_([PresaleStatus.OPEN, PresaleStatus.HARVESTED]),
        )
    ).first()
    if existing is not None:
        raise Conflict("该规格已有进行中的预售", fields={"sku_id": "请先结束原来的预售"})
    presale = Presale(
        cooperative_id=coop_id,
        product_id=pk(product),
        sku_id=pk(sku),
        harvest_from=data.harvest_from,
        ship_from=data.ship_from,
        ship_to=data.ship_to,
        cap=data.cap,
        deposit_fen=data.deposit_fen,
        balance_due=data.balance_due if data.deposit_fen else None,
    )
    sku.stock = data.cap  # the cap is the stock: checkout's conditional update never oversells
    session.add_all([presale, sku])
    session.flush()
    return presale


def of_coop(session: Session, staff: Account) -> list[Presale]:
    coop_id = require_staff(staff)
    return list(
        session.scalars(
            select(Presale)
            .where(col(Presale.cooperative_id) == coop_id)
            .order_by(col(Presale.id).desc())
        )
    )


def get_for(session: Session, staff: Account, presale_id: int) -> Presale:
    presale = session.get(Presale, presale_id)
    if presale is None or presale.cooperative_id != require_staff(staff):
        raise NotFound("预售不存在")
    return presale


def open_count_of(product_id: Any) -> Any:
    """SQL: how many pre-sales :func:`current_for_product` would list, for the product whose id
    is ``product_id`` (a column of an enclosing statement)."""
    return (
        select(func.count())
        .where(col(Presale.product_id) == product_id, col(Presale.status) == PresaleStatus.OPEN)
        .scalar_subquery()
    )


def current_for_product(session: Session, product_id: int) -> list[Presale]:
    """The product's pre-sales buyers can still buy or are waiting on."""
    return list(
        session.scalars(
            select(Presale)
            .where(col(Presale.product_id) == product_id, col(Presale.status) == PresaleStatus.OPEN)
            .order_by(col(Presale.sku_id))
        )
    )


def for_skus(session: Session, sku_ids: list[int]) -> dict[int, Presale]:
    """Open pre-sales by SKU id (the cart and checkout show their ship dates)."""
    if not sku_ids:
        return {}
    rows = session.scalars(
        select(Presale).where(
            col(Presale.sku_id).in_(sku_ids), col(Presale.status) == PresaleStatus.OPEN
        )
    )
    return {p.sku_id: p for p in rows}


@dataclass(frozen=True)
class OrderPresale:
    part: PresaleOrder
    presale: Presale

    @property
    def balance_open(self) -> bool:
        """The buyer may pay the balance now (harvested, kept, unpaid, before the deadline)."""
        return (
            self.part.balance_fen > 0
            and self.part.balance_paid_at is None
            and self.part.outcome == "kept"
            and self.presale.status == PresaleStatus.HARVESTED
        )

    @property
    def late(self) -> bool:
        due = self.presale.balance_due
        return due is not None and utcnow() >= due


def of_order(session: Session, order: Order) -> list[OrderPresale]:
    rows = session.execute(
        select(PresaleOrder, Presale)
        .join(Presale, col(Presale.id) == PresaleOrder.presale_id)
        .where(col(PresaleOrder.order_id) == order.id)
        .order_by(col(PresaleOrder.id))
    ).all()
    return [OrderPresale(part, presale) for part, presale in rows]


def pay_balance(
    session: Session, order: Order, channel: Channel, *, client_ip: str, openid: str | None = None
) -> PaymentIntent:
    """The second payment intent of a deposit pre-sale: the balance, only before the deadline."""
    order = orders.get_order(session, pk(order))
    parts = [p for p in of_order(session, order) if p.part.balance_fen > 0]
    if not parts or order.status != OrderStatus.PAID:
        raise InvalidTransition("该订单没有待付的尾款")
    if any(p.late for p in parts):
        raise InvalidTransition(
            "尾款支付已截止，不能再付尾款；按预售约定，订单将取消，定金原路退回",
            code="balance_late",
        )
    if not all(p.balance_open for p in parts):
        raise InvalidTransition(
            "还未采收，暂不能付尾款；采收后我们会通知你", code="balance_not_open"
        )
    amount = sum(p.part.balance_fen for p in parts)
    intent = payments.create_intent(
        session, order, channel, client_ip=client_ip, openid=openid, balance_fen=amount
    )
    for p in parts:
        p.part.balance_trade_no = intent.out_trade_no
        session.add(p.part)
    session.flush()
    return intent


@dataclass(frozen=True)
class HarvestResult:
    kept: list[str]
    refunded: list[str]
    cancelled: list[str]


def record_harvest(
    session: Session, staff: Account, presale_id: int, batch_id: int, units: int
) -> HarvestResult:
    """The lot is in: ``units`` of the SKU can be filled, first paid, first served.

    Orders filled get the lot on their lines (as if chosen at packing) and, once nothing is
    owed, become ready to pack; the rest are refunded in full; unpaid ones are cancelled.
    Every buyer is told (a ``presale.harvest_notice`` job each).
    """
    presale = session.get(Presale, presale_id, with_for_update=True)
    if presale is None or presale.cooperative_id != require_staff(staff):
        raise NotFound("预售不存在")
    if presale.status != PresaleStatus.OPEN:
        raise InvalidTransition("该预售已登记过采收")
    batch = session.get(Batch, batch_id)
    if batch is None or batch.cooperative_id != presale.cooperative_id:
        raise ValidationFailed("批次不存在", fields={"batch_id": "请选择本社的批次"})
    if batch.product_id != presale.product_id:
        raise ValidationFailed("批次与预售商品不符", fields={"batch_id": "请选择该商品的批次"})
    if batch.harvest_date is None:
        raise ValidationFailed("该批次还没有登记采收", fields={"batch_id": "请先在批次页登记采收"})
    if units < 0 or units > 1_000_000:
        raise ValidationFailed("可发货数量有误", fields={"units": "应在 0 到 1000000 之间"})
    rows = session.execute(
        select(PresaleOrder, Order)
        .join(Order, col(Order.id) == PresaleOrder.order_id)
        .where(col(PresaleOrder.presale_id) == presale.id)
        .order_by(col(PresaleOrder.deposit_paid_at), col(PresaleOrder.id))
        .with_for_update(of=PresaleOrder)
    ).all()
    result = HarvestResult([], [], [])
    left = units
    for part, order in rows:
        if order.status == OrderStatus.PENDING_PAYMENT:
            orders.cancel(session, order, staff, note="预售已结束，未付款订单取消")
            result.cancelled.append(order.number)
            continue
        if order.status != OrderStatus.PAID or part.deposit_paid_at is None:
            continue
        if part.quantity <= left:
            left -= part.quantity
            part.outcome = "kept"
            _assign_lot(session, order, presale, pk(batch))
            if part.balance_fen == 0:
                _ready_to_pack(session, order)
            result.kept.append(order.number)
        else:
            part.outcome = "refunded"
            refund_all(session, order, "预售采收不足，按付款先后发货，本单全额退款")
            result.refunded.append(order.number)
        session.add(part)
        tasks.harvest_notice.enqueue(
            session,
            {"order_id": pk(order), "outcome": part.outcome},
            key=f"presale:{presale.id}:order:{order.id}",
        )
    presale.status = PresaleStatus.HARVESTED if result.kept else PresaleStatus.FAILED
    presale.batch_id = pk(batch)
    presale.harvested_units = units
    session.add(presale)
    sku = session.get(Sku, presale.sku_id, with_for_update=True)
    if sku is not None:  # nothing more is sold ahead of this harvest
        sku.stock = 0
        session.add(sku)
    session.flush()
    return result


def close_overdue(session: Session, staff: Account, presale_id: int) -> list[str]:
    """After the balance deadline: orders whose balance never came are cancelled, deposit back."""
    presale = get_for(session, staff, presale_id)
    if presale.balance_due is None or utcnow() < presale.balance_due:
        raise InvalidTransition("尾款截止时间还没到")
    numbers = []
    for part in session.scalars(
        select(PresaleOrder).where(
            col(PresaleOrder.presale_id) == presale.id,
            col(PresaleOrder.outcome) == "kept",
            col(PresaleOrder.balance_fen) > 0,
            col(PresaleOrder.balance_paid_at).is_(None),
        )
    ):
        order = orders.get_order(session, part.order_id)
        if order.status != OrderStatus.PAID:
            continue
        part.outcome = "refunded"
        session.add(part)
        refund_all(session, order, "逾期未付尾款，订单取消，定金原路退回")
        numbers.append(order.number)
    presale.status = PresaleStatus.CLOSED
    session.add(presale)
    return numbers


def refund_all(session: Session, order: Order, reason: str) -> None:
    """Refund what is left of every paid intent of the order (existing refund machinery): the
    console may have refunded part of it already, and nothing is refunded twice."""
    state.transition(session, order, OrderStatus.REFUND_REQUESTED, actor_name="system", note=reason)
    for intent in session.scalars(
        select(PaymentIntent).where(
            col(PaymentIntent.order_id) == order.id,
            col(PaymentIntent.status) == IntentStatus.PAID,
        )
    ):
        left = payments.intent_refundable_fen(session, intent)
        if left > 0:
            payments.request_refund(session, order, intent, left, reason)
    for fulfilment in session.scalars(
        select(Fulfilment).where(col(Fulfilment.order_id) == order.id)
    ):
        fulfilment.status = FulfilmentStatus.CANCELLED
        session.add(fulfilment)


def _assign_lot(session: Session, order: Order, presale: Presale, batch_id: int) -> None:
    for line in session.scalars(
        select(OrderLine).where(
            col(OrderLine.order_id) == order.id, col(OrderLine.sku_id) == presale.sku_id
        )
    ):
        line.batch_id = batch_id
        session.add(line)


def _ready_to_pack(session: Session, order: Order) -> None:
    for fulfilment in session.scalars(
        select(Fulfilment).where(
            col(Fulfilment.order_id) == order.id,
            col(Fulfilment.status) == FulfilmentStatus.PENDING,
        )
    ):
        fulfilment.status = FulfilmentStatus.TO_PACK
        session.add(fulfilment)


def volumes(session: Session, cooperative_id: int | None = None) -> list[dict[str, object]]:
    """Pre-sale volumes for the township dashboard: per pre-sale, units sold, kept, refunded."""
    from sqlalchemy import func

    query = (
        select(
            Presale,
            col(Product.name),
            func.coalesce(func.sum(PresaleOrder.quantity), 0),
        )
        .join(Product, col(Product.id) == Presale.product_id)
        .outerjoin(
            PresaleOrder,
            (col(PresaleOrder.presale_id) == Presale.id)
            & col(PresaleOrder.deposit_paid_at).is_not(None),
        )
        .group_by(col(Presale.id), col(Product.name))
        .order_by(col(Presale.id).desc())
    )
    if cooperative_id is not None:
        query = query.where(col(Presale.cooperative_id) == cooperative_id)
    out: list[dict[str, object]] = []
    for presale, name, sold in session.execute(query).all():
        out.append(
            {
                "product": name,
                "status": PresaleStatus(presale.status).label,
                "cap": presale.cap,
                "sold": int(sold),
                "harvested": presale.harvested_units,
            }
        )
    return out
