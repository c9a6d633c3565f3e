"""One day's trade bill checked against our payments and refunds (see payments/reconciliation)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class BillCheck(SQLModel, table=True):
    """The last check of one day's bill: the daily job checks a day once; re-runs update it."""

    __tablename__ = "bill_check"
    __table_args__ = (UniqueConstraint("bill_date"),)

    id: int | None = Field(default=None, primary_key=True)
    bill_date: date
    provider: str = Field(max_length=20)  # the API the bill was fetched through
    lines: int = 0
    differences: int = 0
    checked_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
