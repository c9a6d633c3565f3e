"""The township and its villages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import Township, Village


def current_township(session: Session) -> Township | None:
    return session.scalars(select(Township).where(Township.code == settings.township)).first()


def list_villages(session: Session) -> list[Village]:
    township = current_township(session)
    query = select(Village).order_by(Village.id)
    if township is not None:
        query = query.where(Village.township_id == township.id)
    return list(session.scalars(query))
