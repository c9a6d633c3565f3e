"""SAMPLE order history for the demo, so the township's dashboard has something to show.

About three months of delivered orders of the demo catalogue from buyers in several
provinces, a few refunded; written straight into the order tables (no stock is taken and no
payment exists: these orders are history, marked 示例 in their notes), then the daily figures
are built from them as the report jobs would.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.models import (
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    IntentStatus,
    Order,
    OrderStatus,
    PaymentIntent,
    Product,
    ProductStatus,
    Refund,
    RefundStatus,
    Sku,
)
from farmgate.orders.checkout import order_line
from farmgate.reports import summary
from farmgate.timeutil import local_today

DAYS = 90
PROVINCES = (
    ("湖南省", "怀化市", "辰溪县"),
    ("湖南省", "长沙市", "岳麓区"),
    ("广东省", "深圳市", "南山区"),
    ("广东省", "广州市", "天河区"),
    ("浙江省", "杭州市", "西湖区"),
    ("上海市", "上海市", "浦东新区"),
    ("北京市", "北京市", "朝阳区"),
    ("湖北省", "武汉市", "洪山区"),
)


def seed_sales(session: Session, *, seed: int = 20261129) -> int:
    """Create the sample orders; returns how many."""
    rng = random.Random(seed)
    skus = session.execute(
        select(Sku, Product)
        .join(Product, col(Product.id) == Sku.product_id)
        .where(col(Product.status) == ProductStatus.PUBLISHED, col(Sku.is_active))
        .order_by(col(Sku.id))
    ).all()
    if not skus:
        return 0
    now = utcnow()
    made = 0
    for day in range(DAYS, 0, -1):
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            paid = now - timedelta(days=day, minutes=rng.randrange(8 * 60, 22 * 60))
            picked = rng.sample(skus, k=min(len(skus), rng.choice((1, 1, 2))))
            province, city, county = rng.choice(PROVINCES)
            _order(session, rng, picked, paid, province, city, county, made)
            made += 1
    session.flush()
    summary.rebuild(session, local_today() - timedelta(days=DAYS + 1), local_today())
    return made


def _order(
    session: Session,
    rng: random.Random,
    picked: Sequence[tuple[Sku, Product]],
    paid: datetime,
    province: str,
    city: str,
    county: str,
    serial: int,
) -> None:
    lines = [(sku, product, rng.choice((1, 1, 2, 3))) for sku, product in picked]
    items = sum(sku.price_fen * q for sku, _, q in lines)
    coops = sorted({product.cooperative_id for _, product, _ in lines})
    refunded = rng.random() < 0.06
    order = Order(
        number=f"DEMO{paid:%Y%m%d}{serial:04d}",
        recipient="示例买家",
        phone="13800000000",
        province=province,
        city=city,
        county=county,
        township="示例街道",
        address_detail="示例地址",
        delivery_method=DeliveryMethod.POST,
        note="示例订单（演示数据）",
        items_fen=items,
        shipping_fen=1000 * len(coops),
        total_fen=items + 1000 * len(coops),
        created_at=paid - timedelta(minutes=3),
        pay_by=paid + timedelta(minutes=27),
        paid_at=paid,
        closed_at=paid + timedelta(days=3),
        status=OrderStatus.REFUNDED if refunded else OrderStatus.COMPLETED,
    )
    session.add(order)
    session.flush()
    for coop in coops:
        fulfilment = Fulfilment(
            order_id=pk(order),
            cooperative_id=coop,
            items_fen=sum(s.price_fen * q for s, p, q in lines if p.cooperative_id == coop),
            shipping_fen=1000,
            status=FulfilmentStatus.DELIVERED,
        )
        session.add(fulfilment)
        session.flush()
        for sku, product, quantity in lines:
            if product.cooperative_id != coop:
                continue
            session.add(order_line(order, fulfilment, sku, product, quantity))
    if refunded:
        intent = PaymentIntent(
            order_id=pk(order),
            provider="cash",
            channel="cash",
            out_trade_no=f"{order.number}C",
            amount_fen=order.total_fen,
            status=IntentStatus.PAID,
            paid_at=paid,
        )
        session.add(intent)
        session.flush()
        session.add(
            Refund(
                order_id=pk(order),
                intent_id=pk(intent),
                out_refund_no=f"{order.number}R",
                amount_fen=order.total_fen,
                reason="示例：收到时包装破损",
                status=RefundStatus.SUCCEEDED,
                completed_at=paid + timedelta(days=2),
            )
        )
