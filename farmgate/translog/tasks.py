"""The log's schedule (rules in farmgate/jobs/__init__.py): log new trace events every 30
seconds and, when the log grew, publish a signed head through the outbox."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy.orm import Session

from farmgate.jobs.registry import job, periodic
from farmgate.translog import log


class PublishArgs(TypedDict, total=False):
    pass


@job("translog.publish_head", queue="slow", max_tries=10, timeout=60)
def publish_head(session: Session, args: PublishArgs) -> int:
    """Sign and store the head at the log's current size (idempotent: once per size)."""
    row = log.publish(session)
    return row.size if row is not None else 0


@periodic("translog.integrate", every_seconds=30)
def integrate(session: Session) -> int:
    """Give new trace events their leaves; queue a head for witnesses when the log grew."""
    added = log.integrate_all(session)
    if added:
        publish_head.enqueue(session, {}, key="translog:head", coalesce=True)
    return added
