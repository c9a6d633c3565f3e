"""A buyer's request for a 普通发票 on a paid order, answered by each cooperative in it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled({"personal": "个人", "company": "单位"})
class InvoiceTitleType(Labelled):
    PERSONAL = "personal"
    COMPANY = "company"


@labelled({"requested": "待开票", "issued": "已开票"})
class InvoiceStatus(Labelled):
    REQUESTED = "requested"
    ISSUED = "issued"


class InvoiceRequest(SQLModel, table=True):
    """One cooperative's invoice for its part of an order; the PDF is kept here, not in the
    public media folder, so that only the buyer, that cooperative and the admin reach it."""

    __tablename__ = "invoice_request"
    __table_args__ = (UniqueConstraint("order_id", "cooperative_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)  # the buyer who asked
    title_type: InvoiceTitleType = Field(sa_type=String(10))
    title: str = Field(max_length=100)
    tax_number: str = Field(default="", max_length=20)
    amount_fen: int  # the cooperative's part of the order, when asked
    status: InvoiceStatus = Field(default=InvoiceStatus.REQUESTED, sa_type=String(10), index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    issued_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    issued_by: int | None = Field(default=None, foreign_key="account.id")
    invoice_no: str = Field(default="", max_length=40)
    pdf_size: int = 0
    # Lists load it deferred (services pass ``defer(InvoiceRequest.pdf)``).
    pdf: bytes | None = Field(default=None, sa_column=Column("pdf", LargeBinary, nullable=True))
