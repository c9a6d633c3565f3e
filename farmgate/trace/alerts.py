"""Who sees which alerts: cooperative staff their own, the township admin all."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.errors import PermissionDenied
from farmgate.models import Account, Alert, Role


def visible_alerts(session: Session, actor: Account, limit: int = 200) -> list[Alert]:
    """The newest ``limit`` alerts ``actor`` may see; anyone else is refused."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)  # type: ignore[union-attr]
    if actor.role == Role.COOPERATIVE and actor.cooperative_id is not None:
        query = query.where(Alert.cooperative_id == actor.cooperative_id)
    elif actor.role != Role.ADMIN:
        raise PermissionDenied("只有合作社和乡镇管理员可以查看预警")
    return list(session.scalars(query))
