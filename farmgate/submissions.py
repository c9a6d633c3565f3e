"""A form sent twice records once: its one-time token is stored with what it recorded.

Couriers send forms from phones on flaky networks (a cold-chain handoff, a township parcel's
step); the page puts a random token in each form, and a resubmission carries the same one.
``first_record`` finds what the token recorded before, ``remember`` stores it after a new
record; both paths use them, so a token means the same thing everywhere.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.models import FormSubmission

# The token field of every such form: the page fills it once, a resubmission repeats it.
FormToken = Annotated[
    str | None, Field(min_length=8, max_length=64, description="重复提交时相同，只记录一次")
]


def first_record(session: Session, kind: str, token: str | None) -> int | None:
    """The id this ``kind`` of form recorded with ``token`` before; None if new or no token."""
    if not token:
        return None
    return session.scalars(
        select(col(FormSubmission.record_id)).where(
            col(FormSubmission.kind) == kind, col(FormSubmission.token) == token
        )
    ).first()


def remember(session: Session, kind: str, token: str | None, record_id: int) -> None:
    """Keep the token of a form that has just recorded ``record_id`` (nothing without a token)."""
    if token:
        session.add(FormSubmission(kind=kind, token=token, record_id=record_id))
        session.flush()
