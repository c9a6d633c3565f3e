"""Search jobs (rules in farmgate/jobs/__init__.py): reflecting changed products, and a
periodic refresh of sales figures (they change with every order; the sort can wait)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.jobs.registry import job, periodic
from farmgate.models import Order, OrderLine
from farmgate.search import service

SALES_EVERY_SECONDS = 900


class ReflectArgs(TypedDict):
    product_ids: list[int]


@job("search.reflect", queue="quick", max_tries=8, timeout=20)
def reflect(session: Session, args: ReflectArgs) -> None:
    service.reflect(session, [int(i) for i in args["product_ids"]])


@periodic("search.refresh_sales", every_seconds=SALES_EVERY_SECONDS)
def refresh_sales(session: Session) -> int:
    """Products paid for since the last round get their sales figure (for sorting) again."""
    since = utcnow() - timedelta(seconds=SALES_EVERY_SECONDS * 2)
    ids = set(
        session.scalars(
            select(col(OrderLine.product_id))
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(col(Order.paid_at) >= since)
        )
    )
    return service.reflect(session, ids) if ids else 0
