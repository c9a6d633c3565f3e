"""Jobs with a visible business effect (a SKU's stock), registered only in tests."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.jobs.registry import job
from farmgate.models import Sku


@job("tests.bump_stock", queue="quick", max_tries=5, timeout=3, backoff_base=0.2)
def bump_stock(session: Session, args: dict[str, Any]) -> None:
    """Add one to a SKU's stock, after an optional pause (to be killed in)."""
    time.sleep(args.get("sleep", 0))
    session.execute(update(Sku).where(Sku.id == args["sku_id"]).values(stock=Sku.stock + 1))


@job(
    "tests.needs_active_sku",
    queue="slow",
    max_tries=3,
    timeout=3,
    backoff_base=0.1,
    backoff_max=0.3,
)
def needs_active_sku(session: Session, args: dict[str, Any]) -> None:
    """Fails (transiently) until its SKU is active; then adds one to the stock."""
    sku = session.get(Sku, args["sku_id"])
    if sku is None or not sku.is_active:
        raise TransientJobError(f"sku {args['sku_id']} is not active")
    sku.stock += 1


@job("tests.refused", queue="quick", max_tries=5, timeout=3)
def refused(session: Session, args: dict[str, Any]) -> None:
    raise PermanentJobError("the courier refused this address")
