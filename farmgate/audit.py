"""The append-only audit log of console actions (approvals, suspensions, cash, refunds ...).

Every state change the township console makes calls :func:`record` in the same transaction,
so an action and its entry are committed together or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.models import Account, AuditEntry


def record(
    session: Session,
    actor: Account | None,
    action: str,
    target: str,
    target_id: int | None,
    summary: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry: ``action`` like ``cooperative.approve``, ``summary`` in plain Chinese."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action[:40],
        target=target[:30],
        target_id=target_id,
        summary=summary[:300],
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session,
    *,
    action: str | None = None,
    target: str | None = None,
    target_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest entries first, filtered by action prefix, target and target id."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if action:
        query = query.where(col(AuditEntry.action).startswith(action))
    if target:
        query = query.where(col(AuditEntry.target) == target)
    if target_id is not None:
        query = query.where(col(AuditEntry.target_id) == target_id)
    return list(session.scalars(query))
