"""Order jobs (see farmgate/jobs/__init__.py for the rules they follow)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.jobs.errors import TransientJobError
from farmgate.jobs.registry import job, periodic
from farmgate.models import Order, OrderStatus
from farmgate.orders import receipt, service


class ReleaseArgs(TypedDict):
    order_id: int
    due: NotRequired[str]  # the pay-by deadline (ISO) this run is for; a later one makes it a no-op


@job("orders.release_unpaid", queue="quick", max_tries=10, timeout=20, backoff_base=10)
def release_unpaid(session: Session, args: ReleaseArgs) -> None:
    """Cancel an order still unpaid at its deadline and give its stock back.

    ``due`` is the deadline the job was queued for; a later deadline has its own job.

    Keyed by the order: a second run finds it cancelled (or paid) and does nothing.
    """
    order = session.get(Order, args["order_id"], with_for_update=True)
    if order is None or order.status != OrderStatus.PENDING_PAYMENT:
        return
    due = args.get("due")
    if due is not None and order.pay_by > datetime.fromisoformat(due) + timedelta(seconds=1):
        return  # the deadline moved (cash at the station); that change queued its own release
    if utcnow() < order.pay_by - timedelta(seconds=1):
        raise TransientJobError("payment deadline not reached yet")
    service.cancel(session, order, None, note="超时未支付，已自动取消并释放库存")


@periodic("orders.auto_confirm", every_seconds=3600)
def auto_confirm(session: Session) -> None:
    """自动确认收货: complete orders delivered settings.auto_confirm_days ago or more."""
    receipt.auto_confirm(session)
