"""The township and its villages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.models import Township, Village


def current_township(session: Session) -> Township | None:
    return session.scalars(select(Township).where(col(Township.code) == settings.township)).first()


def list_villages(session: Session, township_id: int | None = None) -> list[Village]:
    """The villages of ``township_id``, or of the configured township."""
    if township_id is None:
        township = current_township(session)
        township_id = township.id if township is not None else None
    query = select(Village).order_by(col(Village.id))
    if township_id is not None:
        query = query.where(col(Village.township_id) == township_id)
    return list(session.scalars(query))
