"""Alerts that must reach people: stored once per key, listed on the desks.

Other domains raise them too: the cold chain's excursion job (farmgate/coldchain/tasks.py)
and logistics' waybill checks.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.errors import PermissionDenied
from farmgate.models import Account, Alert, Role

log = logging.getLogger(__name__)


def raise_alert(
    session: Session,
    key: str,
    kind: str,
    message: str,
    *,
    cooperative_id: int | None,
    batch_id: int | None,
    details: dict[str, Any] | None = None,
) -> Alert | None:
    """Store an alert once per ``key`` (a job may run twice); None when it already exists."""
    if session.scalars(select(col(Alert.id)).where(col(Alert.key) == key)).first() is not None:
        return None
    alert = Alert(
        key=key,
        kind=kind,
        message=message[:300],
        cooperative_id=cooperative_id,
        batch_id=batch_id,
        details=details or {},
    )
    session.add(alert)
    session.flush()
    log.warning("alert %s: %s", key, message)
    return alert


def recent_alerts(
    session: Session, cooperative_id: int | None, days: int = 14, limit: int = 20
) -> list[Alert]:
    """A cooperative's alerts of the last ``days`` days, newest first (None: the township's)."""
    query = (
        select(Alert)
        .where(col(Alert.created_at) >= utcnow() - timedelta(days=days))
        .order_by(col(Alert.id).desc())
        .limit(limit)
    )
    if cooperative_id is not None:
        query = query.where(col(Alert.cooperative_id) == cooperative_id)
    return list(session.scalars(query))


def visible_alerts(session: Session, actor: Account, limit: int = 200) -> list[Alert]:
    """The newest ``limit`` alerts ``actor`` may see; anyone else is refused."""
    query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    if actor.role == Role.COOPERATIVE and actor.cooperative_id is not None:
        query = query.where(col(Alert.cooperative_id) == actor.cooperative_id)
    elif actor.role != Role.ADMIN:
        raise PermissionDenied("只有合作社和乡镇管理员可以查看预警")
    return list(session.scalars(query))
