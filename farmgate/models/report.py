"""The township's sales figures, one row per day and facet, kept by the report jobs.

Derived data: farmgate/reports/summary.py recomputes a whole day's rows from the orders,
refunds and parcels whenever they change, so a row is never edited by hand and a lost
refresh is repaired by the next one.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class ReportFact(SQLModel, table=True):
    """What one cooperative sold from one village on one (Asia/Shanghai) day, by one key.

    ``grain`` "d" rows are days; "m" rows (``day`` = the 1st) are their month's sums, so a
    long range reads whole months from a few rows. ``facet`` says what the key is and which
    day the row belongs to:

    - ``sales``: no key; the (cooperative, village) totals of the product rows (the trend)
    - ``product``: key = product id; sales of orders paid that day, refunds completed that day
    - ``province``: key = the buyer's province; the same money, by where the buyers are
    - ``status``: key = the order's current status; orders placed that day
    - ``refund``: key = the refund's reason; refunds completed that day
    - ``delivery``: key = the carrier; signed-for parcels of orders paid that day
      (village = the cooperative's own, where the parcel leaves from)

    Money is goods only (freight excluded), in fen. The ``n_*`` columns count distinct
    orders (refunds, parcels) so that summing the right one over any grouping counts each
    once: ``n_row`` once per row key, ``n_pair`` once per (cooperative, village), ``n_coop``
    once per cooperative, ``n_village`` once per village, ``n_all`` once in all.
    """

    __tablename__ = "report_fact"
    __table_args__ = (
        # The trend reads one facet over days; the dashboard every facet over a range.
        UniqueConstraint("grain", "facet", "day", "cooperative_id", "village_id", "key"),
        Index("ix_report_fact_grain_day", "grain", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    grain: str = Field(max_length=1)
    day: date
    facet: str = Field(max_length=10)
    # Plain ids, not foreign keys: derived rows, rebuilt from the tables that do have them.
    cooperative_id: int
    village_id: int
    key: str = Field(max_length=40)
    amount_fen: int = Field(default=0, sa_type=BigInteger)
    refund_fen: int = Field(default=0, sa_type=BigInteger)
    units: int = 0
    units_returned: int = 0
    seconds: int = Field(default=0, sa_type=BigInteger)
    n_row: int = 0
    n_pair: int = 0
    n_coop: int = 0
    n_village: int = 0
    n_all: int = 0
