"""One-time tokens of the forms couriers send, with what each recorded the first time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class FormSubmission(SQLModel, table=True):
    """A form's token, kept so that the same form sent twice (a flaky network) records once."""

    __tablename__ = "form_submission"
    __table_args__ = (UniqueConstraint("kind", "token"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # handoff, parcel_step
    token: str = Field(max_length=64)
    record_id: int  # what the first submission recorded: the handoff's id, the parcel's id
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
