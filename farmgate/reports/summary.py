"""Recomputing one day's report facts (farmgate/models/report.py) from the rows behind them.

A day is always rebuilt whole, from the orders paid or placed, the refunds completed and the
parcels of orders paid that day, so running it twice (or late, or after a lost run) gives the
same rows. The arithmetic is done here in integers, never in SQL, so SQLite and PostgreSQL
store exactly the same figures.

How a refund is shared out: an order's refunds are paid back against its whole total, so
each refund is spread over the order's lines and its cooperatives' freight in proportion to
their part of the total. The running refunded total is shared, rounding down along the
parts in a fixed order (lines by id, then freight by fulfilment id), and each refund gets
the difference it makes; so the shares always add up to the fen refunded, and once the whole
order is refunded every line has had exactly its own value back. Only the lines' shares are
reported (the figures are goods sales, freight excluded). A line whose whole value has been
refunded counts its units as returned, on that refund's day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Date, String, delete, func, insert, literal, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.models import (
    Cooperative,
    Fulfilment,
    Order,
    OrderLine,
    Parcel,
    ParcelStatus,
    Product,
    Refund,
    RefundStatus,
    ReportFact,
)
from farmgate.timeutil import LOCAL_TZ

SALES, PRODUCT, PROVINCE = "sales", "product", "province"
STATUS, REFUND, DELIVERY = "status", "refund", "delivery"
DAY, MONTH = "d", "m"  # col(ReportFact.grain)
NO_REASON = "未注明原因"
_LOCK_CLASS = 0x7265  # pg_advisory_xact_lock namespace of the report refresh ("re")

Key = tuple[str, int, int, str]  # facet, cooperative, village, key


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where an Asia/Shanghai day starts and the next one starts."""
    start = datetime.combine(day, time(), LOCAL_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def shares(amount: int, parts: Sequence[int]) -> list[int]:
    """``amount`` split in proportion to ``parts``, rounded down along the running total."""
    total = sum(parts)
    if total <= 0:
        return [0] * len(parts)
    out, running, given = [], 0, 0
    for part in parts:
        running += part
        upto = amount * running // total
        out.append(upto - given)
        given = upto
    return out


@dataclass
class _Row:
    amount_fen: int = 0
    refund_fen: int = 0
    units: int = 0
    units_returned: int = 0
    seconds: int = 0
    n_row: int = 0
    n_pair: int = 0
    n_coop: int = 0
    n_village: int = 0
    n_all: int = 0


_MEASURES = [f.name for f in fields(_Row)]


class _Facts:
    def __init__(self) -> None:
        self.rows: dict[Key, _Row] = defaultdict(_Row)

    def count(self, keys: Iterable[Key]) -> None:
        """One order (refund, parcel) that touches ``keys``: set the distinct counters."""
        seen: set[tuple[object, ...]] = set()
        for key in sorted(set(keys)):
            facet, coop, village, _ = key
            row = self.rows[key]
            row.n_row += 1
            for counter, group in (
                ("n_pair", (coop, village)),
                ("n_coop", (coop,)),
                ("n_village", (village,)),
                ("n_all", ()),
            ):
                marker = (counter, facet, *group)
                if marker not in seen:
                    seen.add(marker)
                    setattr(row, counter, getattr(row, counter) + 1)


@dataclass(frozen=True)
class _Line:
    id: int
    order_id: int
    cooperative_id: int
    village_id: int
    product_id: int
    quantity: int
    total_fen: int


def _key(facet: str, line: _Line, key: str) -> Key:
    return (facet, line.cooperative_id, line.village_id, key)


def _lines(session: Session, *conditions: ColumnElement[bool]) -> list[tuple[_Line, str]]:
    """Order lines (with the order's province) of the orders matching ``conditions``."""
    query = (
        select(
            col(OrderLine.id),
            col(OrderLine.order_id),
            col(Fulfilment.cooperative_id),
            col(Product.village_id),
            col(OrderLine.product_id),
            col(OrderLine.quantity),
            col(OrderLine.line_total_fen),
            col(Order.province),
        )
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Fulfilment, col(Fulfilment.id) == OrderLine.fulfilment_id)
        .join(Product, col(Product.id) == OrderLine.product_id)
        .where(*conditions)
        .order_by(col(OrderLine.order_id), col(OrderLine.id))
    )
    # All seven are NOT NULL integer columns; mypy sees the ids as ``int | None``.
    return [(_Line(*cast("tuple[int, ...]", r[:7])), r[7]) for r in session.execute(query)]


def _sales(session: Session, facts: _Facts, start: datetime, end: datetime) -> None:
    by_order: dict[int, list[tuple[_Line, str]]] = defaultdict(list)
    for line, province in _lines(session, col(Order.paid_at) >= start, col(Order.paid_at) < end):
        by_order[line.order_id].append((line, province))
    for items in by_order.values():
        touched: dict[str, list[Key]] = defaultdict(list)
        for line, province in items:
            for key in (
                _key(SALES, line, ""),
                _key(PRODUCT, line, str(line.product_id)),
                _key(PROVINCE, line, province[:40]),
            ):
                row = facts.rows[key]
                row.amount_fen += line.total_fen
                row.units += line.quantity
                touched[key[0]].append(key)
        for keys in touched.values():
            facts.count(keys)


def _refunds(session: Session, facts: _Facts, start: datetime, end: datetime) -> None:
    today = list(
        session.scalars(
            select(Refund).where(
                col(Refund.status) == RefundStatus.SUCCEEDED,
                col(Refund.completed_at) >= start,
                col(Refund.completed_at) < end,
            )
        )
    )
    if not today:
        return
    order_ids = sorted({r.order_id for r in today})
    lines: dict[int, list[tuple[_Line, str]]] = defaultdict(list)
    for line, province in _lines(session, col(OrderLine.order_id).in_(order_ids)):
        lines[line.order_id].append((line, province))
    freight: dict[int, list[int]] = defaultdict(list)
    for order_id, shipping in session.execute(
        select(col(Fulfilment.order_id), col(Fulfilment.shipping_fen))
        .where(col(Fulfilment.order_id).in_(order_ids))
        .order_by(col(Fulfilment.id))
    ):
        freight[order_id].append(shipping)
    history: dict[int, list[Refund]] = defaultdict(list)
    for refund in session.scalars(
        select(Refund)
        .where(col(Refund.order_id).in_(order_ids), col(Refund.status) == RefundStatus.SUCCEEDED)
        .where(col(Refund.completed_at).is_not(None))
        .order_by(col(Refund.completed_at), col(Refund.id))
    ):
        history[refund.order_id].append(refund)
    wanted = {r.id for r in today}
    for order_id in order_ids:
        items = lines[order_id]
        parts = [line.total_fen for line, _ in items] + freight[order_id]
        total = sum(parts)
        before = [0] * len(parts)
        refunded = 0
        for refund in history[order_id]:
            refunded = min(total, refunded + refund.amount_fen)
            after = shares(refunded, parts)
            if refund.id in wanted:
                _refund_facts(facts, refund, items, before, after)
            before = after


def _refund_facts(
    facts: _Facts,
    refund: Refund,
    items: list[tuple[_Line, str]],
    before: list[int],
    after: list[int],
) -> None:
    reason = (refund.reason.strip() or NO_REASON)[:40]
    keys = []
    for i, (line, province) in enumerate(items):
        share = after[i] - before[i]
        returned = line.quantity if after[i] == line.total_fen > before[i] else 0
        for key in (
            _key(SALES, line, ""),
            _key(PRODUCT, line, str(line.product_id)),
            _key(PROVINCE, line, province[:40]),
            _key(REFUND, line, reason),
        ):
            row = facts.rows[key]
            if key[0] == REFUND:
                row.amount_fen += share
            else:
                row.refund_fen += share
                row.units_returned += returned
        keys.append(_key(REFUND, line, reason))
    facts.count(keys)


def _statuses(session: Session, facts: _Facts, start: datetime, end: datetime) -> None:
    query = (
        select(
            col(Order.id),
            col(Order.status),
            col(Fulfilment.cooperative_id),
            col(Product.village_id),
        )
        .join(OrderLine, col(OrderLine.order_id) == Order.id)
        .join(Fulfilment, col(Fulfilment.id) == OrderLine.fulfilment_id)
        .join(Product, col(Product.id) == OrderLine.product_id)
        .where(col(Order.created_at) >= start, col(Order.created_at) < end)
    )
    by_order: dict[int | None, list[Key]] = defaultdict(list)  # keys: order ids, never None
    for order_id, status, coop, village in session.execute(query):
        by_order[order_id].append((STATUS, coop, village, str(status)))
    for keys in by_order.values():
        facts.count(keys)


def _deliveries(session: Session, facts: _Facts, start: datetime, end: datetime) -> None:
    query = (
        select(
            col(Parcel.id),
            col(Parcel.carrier),
            col(Parcel.last_event_at),
            col(Order.paid_at),
            col(Fulfilment.cooperative_id),
            col(Cooperative.village_id),
        )
        .join(Order, col(Order.id) == Parcel.order_id)
        .join(Fulfilment, col(Fulfilment.id) == Parcel.fulfilment_id)
        .join(Cooperative, col(Cooperative.id) == Fulfilment.cooperative_id)
        .where(col(Order.paid_at) >= start, col(Order.paid_at) < end)
        .where(col(Parcel.status) == ParcelStatus.DELIVERED, col(Parcel.last_event_at).is_not(None))
    )
    for _, carrier, signed_at, paid_at, coop, village in session.execute(query):
        assert signed_at is not None and paid_at is not None  # the query keeps only these
        key = (DELIVERY, coop, village, carrier[:40])
        facts.rows[key].seconds += max(0, int((signed_at - paid_at).total_seconds()))
        facts.count([key])


def _lock(session: Session, month: date) -> None:
    """One refresh of a month's days at a time (SQLite already serialises writers).

    Callers refreshing several days take their months in ascending order, so two of them
    never wait for each other in a circle.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :obj)"),
            {"cls": _LOCK_CLASS, "obj": month.toordinal()},
        )


def refresh_day(session: Session, day: date, *, month: bool = True) -> int:
    """Replace the facts of ``day`` (Asia/Shanghai) with freshly computed ones, and (unless
    ``month`` is false) its month's sums; returns the day's rows."""
    _lock(session, month_of(day))
    start, end = day_bounds(day)
    facts = _Facts()
    _sales(session, facts, start, end)
    _refunds(session, facts, start, end)
    _statuses(session, facts, start, end)
    _deliveries(session, facts, start, end)
    session.execute(
        delete(ReportFact).where(col(ReportFact.grain) == DAY, col(ReportFact.day) == day)
    )
    rows = [
        {
            "grain": DAY,
            "day": day,
            "facet": facet,
            "cooperative_id": coop,
            "village_id": village,
            "key": key,
            **{name: getattr(row, name) for name in _MEASURES},
        }
        for (facet, coop, village, key), row in sorted(facts.rows.items())
    ]
    if rows:
        session.execute(insert(ReportFact), rows)
    if month:
        refresh_month(session, month_of(day))
    return len(rows)


def refresh_month(session: Session, first: date) -> None:
    """The month's rows: the sums of its day rows (every counter adds up across days)."""
    _lock(session, first)
    session.execute(
        delete(ReportFact).where(col(ReportFact.grain) == MONTH, col(ReportFact.day) == first)
    )
    group = [
        col(ReportFact.facet),
        col(ReportFact.cooperative_id),
        col(ReportFact.village_id),
        col(ReportFact.key),
    ]
    sums = select(
        literal(MONTH, String),
        literal(first, Date),
        *group,
        *(func.sum(getattr(ReportFact, name)) for name in _MEASURES),
    ).where(
        col(ReportFact.grain) == DAY,
        col(ReportFact.day) >= first,
        col(ReportFact.day) < next_month(first),
    )
    columns = ["grain", "day", "facet", "cooperative_id", "village_id", "key", *_MEASURES]
    session.execute(insert(ReportFact).from_select(columns, sums.group_by(*group)))


def rebuild(session: Session, first: date, last: date, *, commit_every: int = 0) -> int:
    """Refresh every day from ``first`` to ``last`` and their months; with ``commit_every``,
    commit after that many days (and after each month)."""
    total, day = 0, first
    while day <= last:
        total += refresh_day(session, day, month=False)
        if commit_every and (day - first).days % commit_every == commit_every - 1:
            session.commit()
        day += timedelta(days=1)
    month = month_of(first)
    while month <= last:
        refresh_month(session, month)
        if commit_every:
            session.commit()
        month = next_month(month)
    return total
