"""Pre-sale jobs (see farmgate/jobs/__init__.py for the rules they follow)."""

from __future__ import annotations

import logging
from typing import TypedDict

from sqlalchemy.orm import Session

from farmgate.jobs.registry import job
from farmgate.models import Order

log = logging.getLogger(__name__)


class NoticeArgs(TypedDict):
    order_id: int
    outcome: str  # kept | refunded


@job("presale.harvest_notice", queue="quick", max_tries=5, timeout=20, backoff_base=10)
def harvest_notice(session: Session, args: NoticeArgs) -> None:
    """Tell a pre-sale buyer what the harvest decided (the order page says it too).

    The platform's buyer notices are logged messages until an SMS gateway is configured.
    """
    order = session.get(Order, args["order_id"])
    if order is None:
        return
    text = (
        f"您的预售订单 {order.number} 已采收，正在备货"
        if args["outcome"] == "kept"
        else f"您的预售订单 {order.number} 因采收不足已全额退款"
    )
    log.info("presale notice to %s: %s", order.phone[-4:], text)
