"""The dashboard's reads: two grouped queries over the daily facts, a few small live ones.

However long the range, the facts are read twice (grouped by facet, cooperative, village and
key; and the product facet by day) and every table is summed from those rows in Python,
where the right distinct counter (see ReportFact) counts each order once per grouping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.models import (
    ColdShipment,
    Cooperative,
    CooperativeStatus,
    Product,
    ProductStatus,
    ReportFact,
)
from farmgate.reports import summary
from farmgate.reports.filters import Granularity, ReportFilters, Scope
from farmgate.reports.summary import SALES


class Sum(NamedTuple):
    amount: int = 0
    refund: int = 0
    units: int = 0
    returned: int = 0
    seconds: int = 0
    n: int = 0

    def plus(self, other: tuple[int, ...]) -> Sum:
        return Sum(*(a + b for a, b in zip(self, other, strict=True)))

    @property
    def net(self) -> int:
        return self.amount - self.refund

    @property
    def net_units(self) -> int:
        return self.units - self.returned


class FactRow(NamedTuple):
    facet: str
    coop: int
    village: int
    key: str
    amount: int
    refund: int
    units: int
    returned: int
    seconds: int
    n_row: int
    n_pair: int
    n_coop: int
    n_village: int
    n_all: int


def counter(*, coop: bool, village: bool, row: bool = False) -> str:
    """The distinct counter that counts each order once when grouping by these dimensions."""
    if row:
        return "n_row"
    if coop and village:
        return "n_pair"
    return "n_coop" if coop else "n_village" if village else "n_all"


class Facts:
    """The range's facts for one scope, summed per table on demand."""

    def __init__(self, rows: list[FactRow], scope: Scope, filters: ReportFilters) -> None:
        self.by_facet: dict[str, list[FactRow]] = defaultdict(list)
        for r in rows:
            self.by_facet[r.facet].append(r)
        self.coop_fixed = not scope.township
        self.village_fixed = filters.village_id is not None

    def group(
        self,
        facet: str,
        by: Callable[[FactRow], Hashable],
        *,
        coop: bool = False,
        village: bool = False,
        row: bool = False,
    ) -> dict[Any, Sum]:
        """Sums of ``facet`` per ``by(row)``; ``coop``/``village``/``row``: what ``by`` splits."""
        name = counter(coop=coop or self.coop_fixed, village=village or self.village_fixed, row=row)
        out: dict[Any, list[int]] = {}
        for r in self.by_facet.get(facet, ()):
            key = by(r)
            acc = out.get(key)
            if acc is None:
                acc = out[key] = [0, 0, 0, 0, 0, 0]
            acc[0] += r.amount
            acc[1] += r.refund
            acc[2] += r.units
            acc[3] += r.returned
            acc[4] += r.seconds
            acc[5] += getattr(r, name)
        return {key: Sum(*acc) for key, acc in out.items()}

    def total(self, facet: str) -> Sum:
        return self.group(facet, lambda _: None).get(None, Sum())


def _days(filters: ReportFilters, *, months: bool = True) -> Any:
    """The range's rows: whole months from their month rows, the days around them from day
    rows (or every day from day rows when ``months`` is false)."""
    first, last = filters.date_from, filters.date_to
    whole_from = first if first.day == 1 else summary.next_month(first)
    whole_to = summary.month_of(last + timedelta(days=1))  # exclusive
    days = and_(
        col(ReportFact.grain) == summary.DAY,
        col(ReportFact.day) >= first,
        col(ReportFact.day) <= last,
    )
    if not months or whole_from >= whole_to:
        return days
    return or_(
        and_(
            col(ReportFact.grain) == summary.MONTH,
            col(ReportFact.day) >= whole_from,
            col(ReportFact.day) < whole_to,
        ),
        and_(
            col(ReportFact.grain) == summary.DAY,
            or_(
                and_(col(ReportFact.day) >= first, col(ReportFact.day) < whole_from),
                and_(col(ReportFact.day) >= whole_to, col(ReportFact.day) <= last),
            ),
        ),
    )


def _conditions(scope: Scope, filters: ReportFilters, *, months: bool = True) -> list[Any]:
    where = [_days(filters, months=months)]
    if not scope.township:
        where.append(col(ReportFact.cooperative_id) == scope.cooperative_id)
    if filters.village_id is not None:
        where.append(col(ReportFact.village_id) == filters.village_id)
    return where


def _sum(column: Any) -> Any:
    # PostgreSQL sums bigints as numeric (Decimals in Python, slow to make); these never
    # leave the bigint range.
    return cast(func.sum(column), BigInteger)


_SUMS = [
    _sum(col(ReportFact.amount_fen)),
    _sum(col(ReportFact.refund_fen)),
    _sum(col(ReportFact.units)),
    _sum(col(ReportFact.units_returned)),
    _sum(col(ReportFact.seconds)),
]
_COUNTERS = ("n_row", "n_pair", "n_coop", "n_village", "n_all")


def read_facts(session: Session, scope: Scope, filters: ReportFilters) -> Facts:
    group = [
        col(ReportFact.facet),
        col(ReportFact.cooperative_id),
        col(ReportFact.village_id),
        col(ReportFact.key),
    ]
    query = (
        select(*group, *_SUMS, *(_sum(getattr(ReportFact, c)) for c in _COUNTERS))
        .where(*_conditions(scope, filters))
        .group_by(*group)
    )
    rows = [FactRow._make(r) for r in session.execute(query)]  # a group's sums are never NULL
    return Facts(rows, scope, filters)


def read_trend(session: Session, scope: Scope, filters: ReportFilters) -> dict[date, Sum]:
    """Sales per day (per month's first day where whole months are read), each order once."""
    name = counter(coop=not scope.township, village=filters.village_id is not None)
    monthly = filters.granularity == Granularity.MONTH
    query = (
        select(col(ReportFact.day), *_SUMS, _sum(getattr(ReportFact, name)))
        .where(col(ReportFact.facet) == SALES, *_conditions(scope, filters, months=monthly))
        .group_by(col(ReportFact.day))
    )
    return {r[0]: Sum(*r[1:]) for r in session.execute(query)}


def cold_chain(
    session: Session, scope: Scope, filters: ReportFilters
) -> dict[str, tuple[int, int]]:
    """Chilled and frozen shipments begun in the range: storage class -> (all, breached).

    Read live: shipments are few (one per lot sent, not per order). The village is the
    cooperative's, where the shipment leaves from.
    """
    start = summary.day_bounds(filters.date_from)[0]
    end = summary.day_bounds(filters.date_to + timedelta(days=1))[0]
    query = (
        select(
            col(ColdShipment.storage_class),
            func.count(),
            func.sum(case((col(ColdShipment.breached), 1), else_=0)),
        )
        .join(Cooperative, col(Cooperative.id) == ColdShipment.cooperative_id)
        .where(col(ColdShipment.created_at) >= start, col(ColdShipment.created_at) < end)
        .where(col(ColdShipment.storage_class).in_(["chilled", "frozen"]))
        .group_by(col(ColdShipment.storage_class))
    )
    if not scope.township:
        query = query.where(col(ColdShipment.cooperative_id) == scope.cooperative_id)
    if filters.village_id is not None:
        query = query.where(col(Cooperative.village_id) == filters.village_id)
    return {str(kind): (int(n), int(bad or 0)) for kind, n, bad in session.execute(query)}


def registered(session: Session, scope: Scope) -> tuple[dict[int, int], dict[int, int]]:
    """Approved cooperatives per village, and products on sale per origin village."""
    coops = select(col(Cooperative.village_id), func.count()).where(
        col(Cooperative.status) == CooperativeStatus.APPROVED
    )
    products = select(col(Product.village_id), func.count()).where(
        col(Product.status) == ProductStatus.PUBLISHED
    )
    if not scope.township:
        coops = coops.where(col(Cooperative.id) == scope.cooperative_id)
        products = products.where(col(Product.cooperative_id) == scope.cooperative_id)
    return (
        {v: int(n) for v, n in session.execute(coops.group_by(col(Cooperative.village_id)))},
        {v: int(n) for v, n in session.execute(products.group_by(col(Product.village_id)))},
    )


def names(session: Session, model: Any, ids: set[int], *columns: Any) -> dict[int, Any]:
    """id -> the named columns (a row) of the given ids, read in one query."""
    if not ids:
        return {}
    query = select(model.id, *columns).where(model.id.in_(sorted(ids)))
    return {r[0]: r[1:] for r in session.execute(query)}
