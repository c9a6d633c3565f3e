"""Looking after the job machinery: counts, the dead letters, re-driving them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.errors import InvalidTransition, NotFound
from farmgate.models import DeadJob, OutboxJob, OutboxStatus

S = OutboxStatus


def counts(session: Session) -> dict[str, int]:
    """Outbox rows by state, plus dead letters still waiting for someone."""
    by_status = dict(
        session.execute(
            select(col(OutboxJob.status), func.count()).group_by(col(OutboxJob.status))
        ).all()
    )
    waiting_dead = (
        session.scalar(select(func.count()).where(col(DeadJob.redriven_at).is_(None))) or 0
    )
    return {
        "queued": sum(by_status.get(s, 0) for s in (S.PENDING, S.DISPATCHED)),
        "running": by_status.get(S.RUNNING, 0),
        "failed": by_status.get(S.RETRYING, 0),  # failed at least once, will retry
        "done": by_status.get(S.DONE, 0),
        "dead": waiting_dead,
    }


def dead_letters(session: Session, include_redriven: bool = False) -> list[DeadJob]:
    query = select(DeadJob).order_by(col(DeadJob.id).desc())
    if not include_redriven:
        query = query.where(col(DeadJob.redriven_at).is_(None))
    return list(session.scalars(query))


def redrive(session: Session, dead_id: int) -> OutboxJob:
    """Give a dead job a fresh set of tries (after its cause was fixed)."""
    dead = session.get(DeadJob, dead_id, with_for_update=True)
    if dead is None:
        raise NotFound("死信任务不存在")
    if dead.redriven_at is not None:
        raise InvalidTransition("该任务已重新投递")
    row = session.get(OutboxJob, dead.outbox_id, with_for_update=True)
    assert row is not None
    dead.redriven_at = utcnow()
    row.status = S.PENDING
    row.attempts = 0
    row.available_at = utcnow()
    row.finished_at = None
    session.add_all([dead, row])
    session.info["outbox_added"] = True  # wake the dispatcher after commit
    return row


def redrive_all(session: Session) -> list[OutboxJob]:
    return [redrive(session, pk(d)) for d in dead_letters(session)]


def backlog_by_queue(session: Session) -> dict[str, int]:
    """Jobs waiting or running (not yet done or dead), per queue."""
    waiting = (S.PENDING, S.DISPATCHED, S.RUNNING, S.RETRYING)
    rows = session.execute(
        select(col(OutboxJob.queue), func.count())
        .where(col(OutboxJob.status).in_(waiting))
        .group_by(col(OutboxJob.queue))
    ).all()
    return {queue: count for queue, count in sorted(rows)}


def redrive_kind(session: Session, job: str) -> list[OutboxJob]:
    """Re-drive every waiting dead letter of one job kind (e.g. ``send_sms``)."""
    return [redrive(session, pk(d)) for d in dead_letters(session) if d.job == job]
