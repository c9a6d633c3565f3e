"""A small township for the report tests: villages, cooperatives, products, and orders and
refunds written straight into the tables at chosen moments (Asia/Shanghai)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.models import (
    Account,
    Cooperative,
    Fulfilment,
    Order,
    OrderLine,
    PaymentIntent,
    Product,
    Refund,
    Role,
    Sku,
    Township,
    Village,
)
from tests.support import factories as f

SH = ZoneInfo("Asia/Shanghai")
numbers = itertools.count(1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment of an Asia/Shanghai day."""
    return datetime.combine(day, time(hour, minute), SH)


@dataclass
class World:
    township: Township
    villages: list[Village]
    coops: list[Cooperative]
    staff: list[Account]
    products: dict[str, Product]
    admin: Account

    def village_of(self, product: Product) -> int:
        return product.village_id


def make_world(session: Session) -> World:
    """Three villages; cooperative 1 (in 谭家场) sells chilli from 谭家场 and rice from 高坪,
    cooperative 2 (in 高坪) sells fish from 高坪; 李家坳 sells nothing yet."""
    township = f.create_township(session, villages=("谭家场", "高坪", "李家坳"))
    villages = list(
        session.scalars(
            select(Village).where(Village.township_id == township.id).order_by(Village.id)
        )
    )
    coop1 = f.create_cooperative(session, township, name="辣椒合作社")
    coop2 = f.create_cooperative(session, township, name="稻花鱼合作社")
    coop2.village_id = villages[1].id  # type: ignore[assignment]
    session.add(coop2)
    staff1 = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop1)
    staff2 = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop2)
    products = {
        "chilli": f.create_product(session, staff1, villages[0], name="干红辣椒"),
        "rice": f.create_product(
            session, staff1, villages[1], name="稻花香米", category="grain_oil"
        ),
        "fish": f.create_product(session, staff2, villages[1], name="稻花鱼", category="aquatic"),
    }
    admin = f.create_account(session, role=Role.ADMIN)
    session.flush()
    return World(township, villages, [coop1, coop2], [staff1, staff2], products, admin)


def make_order(
    session: Session,
    lines: Sequence[tuple[Product, int, int]],
    *,
    paid: datetime | None,
    created: datetime | None = None,
    province: str = "湖南省",
    status: str | None = None,
    shipping: int = 1000,
) -> Order:
    """An order of (product, quantity, unit price) lines, one fulfilment per cooperative."""
    created = created or (paid - timedelta(minutes=5) if paid else at(date(2026, 3, 1), 9))
    items = sum(q * p for _, q, p in lines)
    coops = sorted({product.cooperative_id for product, _, _ in lines})
    order = Order(
        number=f"T{next(numbers):010d}",
        recipient="李四",
        phone="13912345678",
        province=province,
        city="某市",
        county="某县",
        township="某乡",
        address_detail="1组1号",
        delivery_method="courier",
        items_fen=items,
        shipping_fen=shipping * len(coops),
        total_fen=items + shipping * len(coops),
        created_at=created,
        pay_by=created + timedelta(minutes=30),
        paid_at=paid,
        status=status or ("paid" if paid else "pending_payment"),
    )
    session.add(order)
    session.flush()
    fulfilments = {}
    for coop in coops:
        fulfilment = Fulfilment(
            order_id=order.id,
            cooperative_id=coop,
            items_fen=sum(q * p for prod, q, p in lines if prod.cooperative_id == coop),
            shipping_fen=shipping,
        )
        session.add(fulfilment)
        session.flush()
        fulfilments[coop] = fulfilment
    for product, quantity, price in lines:
        sku = session.scalars(select(Sku).where(Sku.product_id == product.id)).first()
        session.add(
            OrderLine(
                order_id=order.id,
                fulfilment_id=fulfilments[product.cooperative_id].id,
                sku_id=sku.id,
                product_id=product.id,
                product_name=product.name,
                sku_spec=sku.spec,
                unit=product.unit,
                unit_price_fen=price,
                quantity=quantity,
                line_total_fen=quantity * price,
            )
        )
    session.flush()
    return order


def make_refund(
    session: Session,
    order: Order,
    amount: int,
    completed: datetime | None,
    *,
    reason: str = "质量问题",
    status: str = "succeeded",
) -> Refund:
    intent = session.scalars(
        select(PaymentIntent).where(PaymentIntent.order_id == order.id)
    ).first() or PaymentIntent(
        order_id=order.id,
        provider="wechat_v2",
        channel="native",
        out_trade_no=f"{order.number}N",
        amount_fen=order.total_fen,
        status="paid",
    )
    session.add(intent)
    session.flush()
    refund = Refund(
        order_id=order.id,
        intent_id=intent.id,
        out_refund_no=f"{order.number}R{next(numbers)}",
        amount_fen=amount,
        reason=reason,
        status=status,
        completed_at=completed,
    )
    session.add(refund)
    session.flush()
    return refund
