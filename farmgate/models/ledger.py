"""The money ledger: balanced transactions of entries on named accounts, and payouts.

Every entry is signed: a debit is positive, a credit negative, and a transaction's entries sum
to zero. Rows are only ever added (the migration installs triggers refusing UPDATE and
DELETE on entries); a correction is a new transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


class LedgerTxn(SQLModel, table=True):
    """One money movement, posted once: ``key`` names the event it records."""

    __tablename__ = "ledger_txn"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True, description="the event, e.g. order_paid:12")
    kind: str = Field(max_length=20, index=True)
    occurred_at: datetime = Field(sa_type=AwareDateTime)
    posted_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    memo: str = Field(default="", max_length=200)


class LedgerEntry(SQLModel, table=True):
    """One side of a transaction on one account (debit > 0, credit < 0)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        Index("ix_ledger_entry_cooperative_occurred", "cooperative_id", "occurred_at"),
        Index("ix_ledger_entry_order_account", "order_id", "account"),
    )

    id: int | None = Field(default=None, primary_key=True)
    txn_id: int = Field(foreign_key="ledger_txn.id", index=True)
    account: str = Field(max_length=40, index=True)
    amount_fen: int
    # What the line is, for statements: goods, shipping, commission, refund, payout, ...
    kind: str = Field(max_length=12)
    cooperative_id: int | None = Field(default=None, foreign_key="cooperative.id")
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    occurred_at: datetime = Field(sa_type=AwareDateTime)  # the transaction's, for statements


@labelled({"paid": "已打款", "returned": "已退回"})
class PayoutStatus(Labelled):
    PAID = "paid"  # the township transferred it
    RETURNED = "returned"  # the bank sent it back (wrong account ...): the money is owed again


class Payout(SQLModel, table=True):
    """Money sent to a cooperative's bank account by the township, with the transfer's voucher."""

    __tablename__ = "payout"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    amount_fen: int
    method: str = Field(default="bank", max_length=12)
    status: PayoutStatus = Field(default=PayoutStatus.PAID, sa_type=String(10))
    bank_ref: str = Field(default="", max_length=64, description="the transfer's serial number")
    # Before vouchers were private: a photo in public media under a random name. Kept for
    # the rows that have one; new vouchers are stored below, never in public media.
    voucher_key: str = Field(default="", max_length=200)
    # The voucher photo (WebP, metadata stripped), served to the admin and that cooperative
    # only; lists load it deferred (``payouts.list_for``).
    voucher_size: int = 0
    voucher: bytes | None = Field(
        default=None, sa_column=Column("voucher", LargeBinary, nullable=True)
    )
    note: str = Field(default="", max_length=200)
    recorded_by: int | None = Field(default=None, foreign_key="account.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    returned_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    returned_note: str = Field(default="", max_length=200)
