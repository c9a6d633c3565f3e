"""SAMPLE reviews for the demo: three buyers' reviews of the chilli, each on a line of a
completed sample order packed from the demo's chilli lot, so the product page shows reviews
marked with that lot. The buyers' accounts cannot be signed in to (random passwords)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.accounts import service as accounts
from farmgate.models import Batch, Order, OrderLine, OrderStatus, Product
from farmgate.reviews import service as reviews

PRODUCT = "谭家场干红辣椒"
SAMPLES = (
    ("13700001001", "小芳（示例）", "5", "辣味正，晒得干透，炒菜很香。（示例评价）"),
    ("13700001002", "老周（示例）", "4", "包装结实，比超市的香，就是个头大小不太匀。（示例评价）"),
    ("13700001003", "", "5", "第二次买了，给家里老人做剁辣椒。（示例评价）"),
)


def seed_reviews(session: Session) -> int:
    """Write the sample reviews; returns how many (0 when the catalogue lacks the chilli)."""
    product = session.scalars(select(Product).where(col(Product.name) == PRODUCT)).first()
    lot = (
        session.scalars(select(Batch).where(col(Batch.product_id) == product.id)).first()
        if product
        else None
    )
    if product is None or lot is None:
        return 0
    lines = session.execute(
        select(OrderLine, Order)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(
            col(OrderLine.product_id) == product.id,
            col(Order.status) == OrderStatus.COMPLETED,
            col(Order.account_id).is_(None),
        )
        .order_by(col(Order.id).desc())
        .limit(len(SAMPLES))
    ).all()
    made = 0
    for (phone, name, stars, body), (line, order) in zip(SAMPLES, lines, strict=False):
        buyer = accounts.create_account(
            session, phone=phone, password=secrets.token_urlsafe(16), display_name=name
        )
        order.account_id, line.batch_id = buyer.id, lot.id  # this sample buyer, packed from it
        session.add_all([order, line])
        session.flush()
        reviews.write_review(session, buyer, order.number, line.id or 0, stars=stars, body=body)
        made += 1
    return made
