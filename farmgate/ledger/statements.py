"""A cooperative's statement for a month: opening balance, orders, refunds, commission,
shipping, payouts and closing balance, from its ledger entries.

Amounts are from the cooperative's side: what the platform owes it (the negated sum of the
entries on its accounts). Moving money from pending to available (settlement) changes
neither the total owed nor the statement's lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.errors import ValidationFailed
from farmgate.ledger import accounts, settlement
from farmgate.models import Cooperative, LedgerEntry, LedgerTxn, Order
from farmgate.timeutil import LOCAL_TZ, local_today

ORDER_KINDS = ("goods", "shipping", "commission", "refund")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        return f"{self.start.year}年{self.start.month}月"

    @property
    def key(self) -> str:
        return f"{self.start.year}-{self.start.month:02d}"

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as aware datetimes: local midnights (Asia/Shanghai)."""
        return (
            datetime.combine(self.start, time(), LOCAL_TZ),
            datetime.combine(self.end, time(), LOCAL_TZ),
        )

    def previous(self) -> Period:
        return month((self.start.replace(day=1) - _DAY).strftime("%Y-%m"))

    def next(self) -> Period:
        return month(self.end.strftime("%Y-%m"))


_DAY = timedelta(days=1)


def month(text: str | None = None) -> Period:
    """``2026-11`` as a period; empty: this month (local time). Anything else is refused."""
    if not text:
        today = local_today()
        text = f"{today.year}-{today.month:02d}"
    found = _MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2999:
        raise ValidationFailed("月份格式不对", fields={"month": "请按 2026-11 的格式填写月份"})
    year, number = int(found.group(1)), int(found.group(2))
    start = date(year, number, 1)
    end = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return Period(start, end)


@dataclass(frozen=True)
class OrderRow:
    order_id: int
    number: str
    goods: int
    shipping: int
    commission: int  # negative: charged
    refund: int  # negative: given back

    @property
    def net(self) -> int:
        return self.goods + self.shipping + self.commission + self.refund


@dataclass(frozen=True)
class PayoutRow:
    when: datetime
    kind: str  # payout or payout_back
    amount: int  # negative for a payout, positive when returned
    memo: str


@dataclass
class Statement:
    cooperative_id: int
    cooperative_name: str
    period: Period
    opening: int
    totals: dict[str, int]
    order_count: int
    orders: list[OrderRow] = field(default_factory=list)
    payouts: list[PayoutRow] = field(default_factory=list)
    available: int = 0
    pending: int = 0
    page: int = 1
    pages: int = 1

    @property
    def closing(self) -> int:
        return self.opening + sum(self.totals.values())

    def lines(self) -> list[tuple[str, int]]:
        """The summary: each kind's label and total, in the statement's order."""
        return [(label, self.totals.get(kind, 0)) for kind, label in accounts.KINDS.items()]


def _owed(amount: int | None) -> int:
    return -int(amount or 0)


def build(
    session: Session, cooperative_id: int, period: Period, *, page: int = 1, per_page: int = 50
) -> Statement:
    """The statement with one page of its orders (newest first) and every payout."""
    coop = session.get(Cooperative, cooperative_id)
    if coop is None:
        raise ValidationFailed("合作社不存在")
    start, end = period.bounds()
    mine = col(LedgerEntry.cooperative_id) == cooperative_id
    in_period = (col(LedgerEntry.occurred_at) >= start, col(LedgerEntry.occurred_at) < end)
    opening = _owed(
        session.scalar(
            select(func.sum(LedgerEntry.amount_fen)).where(
                mine, col(LedgerEntry.occurred_at) < start
            )
        )
    )
    totals = {
        str(kind): _owed(total)
        for kind, total in session.execute(
            select(col(LedgerEntry.kind), func.sum(LedgerEntry.amount_fen))
            .where(mine, *in_period, col(LedgerEntry.kind) != "settle")
            .group_by(col(LedgerEntry.kind))
        )
    }
    order_count = int(
        session.scalar(
            select(func.count(func.distinct(LedgerEntry.order_id))).where(
                mine, *in_period, col(LedgerEntry.kind).in_(ORDER_KINDS)
            )
        )
        or 0
    )
    pages = max(1, -(-order_count // per_page))
    page = min(max(1, page), pages)
    statement = Statement(
        cooperative_id,
        coop.name,
        period,
        opening,
        totals,
        order_count,
        orders=list(
            order_rows(
                session, cooperative_id, period, limit=per_page, offset=(page - 1) * per_page
            )
        ),
        available=settlement.available_fen(session, cooperative_id),
        pending=settlement.pending_fen(session, cooperative_id),
        page=page,
        pages=pages,
    )
    statement.payouts = [
        PayoutRow(when, kind, _owed(amount), memo)
        for when, kind, amount, memo in session.execute(
            select(
                col(LedgerEntry.occurred_at),
                col(LedgerEntry.kind),
                col(LedgerEntry.amount_fen),
                col(LedgerTxn.memo),
            )
            .join(LedgerTxn, col(LedgerTxn.id) == LedgerEntry.txn_id)
            .where(mine, *in_period, col(LedgerEntry.kind).in_(("payout", "payout_back")))
            .order_by(col(LedgerEntry.occurred_at))
        )
    ]
    return statement


def order_rows(
    session: Session,
    cooperative_id: int,
    period: Period,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[OrderRow]:
    """The period's orders with what each brought the cooperative, newest first."""
    start, end = period.bounds()

    def total(kind: str):  # type: ignore[no-untyped-def]
        return func.sum(case((col(LedgerEntry.kind) == kind, LedgerEntry.amount_fen), else_=0))

    grouped = (
        select(
            col(LedgerEntry.order_id).label("order_id"), *(total(k).label(k) for k in ORDER_KINDS)
        )
        .where(
            col(LedgerEntry.cooperative_id) == cooperative_id,
            col(LedgerEntry.occurred_at) >= start,
            col(LedgerEntry.occurred_at) < end,
            col(LedgerEntry.kind).in_(ORDER_KINDS),
        )
        .group_by(col(LedgerEntry.order_id))
        .order_by(col(LedgerEntry.order_id).desc())
        .offset(offset)
    )
    if limit is not None:
        grouped = grouped.limit(limit)
    sub = grouped.subquery()
    query = (
        select(sub, col(Order.number))
        .join(Order, col(Order.id) == sub.c.order_id)
        .order_by(sub.c.order_id.desc())
    )
    for row in session.execute(query).yield_per(2000):
        yield OrderRow(
            row.order_id,
            row.number,
            _owed(row.goods),
            _owed(row.shipping),
            _owed(row.commission),
            _owed(row.refund),
        )


def balances(session: Session) -> list[tuple[Cooperative, int, int]]:
    """Every cooperative with what is available and pending to it, for the township."""
    sums: dict[tuple[int, str], int] = {}
    for coop_id, account, total in session.execute(
        select(
            col(LedgerEntry.cooperative_id),
            col(LedgerEntry.account),
            func.sum(LedgerEntry.amount_fen),
        )
        .where(col(LedgerEntry.cooperative_id).is_not(None))
        .group_by(col(LedgerEntry.cooperative_id), col(LedgerEntry.account))
    ):
        sums[(int(coop_id or 0), str(account).rsplit(":", 1)[-1])] = _owed(total)
    coops = session.scalars(select(Cooperative).order_by(col(Cooperative.name))).all()
    return [
        (
            c,
            sums.get((c.id or 0, accounts.AVAILABLE), 0),
            sums.get((c.id or 0, accounts.PENDING), 0),
        )
        for c in coops
    ]


# --- downloads -----------------------------------------------------------------------------


def yuan(fen: int) -> str:
    """Signed fen as yuan text: -150 -> "-1.50"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


ORDER_HEADER = ("订单号", "货款", "运费", "佣金", "退款", "小计")


def _summary(statement: Statement) -> list[tuple[str, str]]:
    return [
        ("期初余额", yuan(statement.opening)),
        *((label, yuan(total)) for label, total in statement.lines()),
        ("期末余额", yuan(statement.closing)),
        ("订单笔数", str(statement.order_count)),
        ("现在可打款", yuan(statement.available)),
        ("待结算（未到期）", yuan(statement.pending)),
    ]


def _filename(statement: Statement, ext: str) -> str:
    return f"statement-{statement.cooperative_id}-{statement.period.key}.{ext}"


def pdf(session: Session, statement: Statement) -> tuple[str, bytes]:
    from farmgate.rendering.statements import table_pdf

    rows = [
        (r.number, yuan(r.goods), yuan(r.shipping), yuan(r.commission), yuan(r.refund), yuan(r.net))
        for r in order_rows(session, statement.cooperative_id, statement.period)
    ]
    payouts = "；".join(
        f"{p.when.astimezone(LOCAL_TZ):%m-%d} {yuan(p.amount)} {p.memo}" for p in statement.payouts
    )
    period = statement.period
    data = table_pdf(
        f"{statement.cooperative_name} 对账单",
        f"{period.label}（{period.start} 至 {period.end - _DAY}，单位：元）",
        _summary(statement),
        ORDER_HEADER,
        rows,
        footnote=f"打款：{payouts}" if payouts else "本期没有打款。",
    )
    return _filename(statement, "pdf"), data


def xlsx(session: Session, statement: Statement) -> tuple[str, bytes]:
    from decimal import Decimal

    from openpyxl import Workbook

    from farmgate.rendering.spreadsheets import add_sheet, xlsx_bytes

    def money(fen: int) -> Decimal:
        return Decimal(fen) / 100

    def build(book: Workbook) -> None:
        add_sheet(
            book,
            "汇总",
            ("项目", "金额（元）"),
            [
                ("期初余额", money(statement.opening)),
                *((label, money(total)) for label, total in statement.lines()),
                ("期末余额", money(statement.closing)),
                ("订单笔数", statement.order_count),
                ("现在可打款", money(statement.available)),
                ("待结算（未到期）", money(statement.pending)),
            ],
            formats=(None, "0.00"),
            widths=(20, 16),
        )
        add_sheet(
            book,
            "订单",
            ORDER_HEADER,
            (
                (
                    r.number,
                    money(r.goods),
                    money(r.shipping),
                    money(r.commission),
                    money(r.refund),
                    money(r.net),
                )
                for r in order_rows(session, statement.cooperative_id, statement.period)
            ),
            formats=(None, *("0.00",) * 5),
            widths=(26, 12, 12, 12, 12, 12),
        )
        add_sheet(
            book,
            "打款",
            ("时间", "金额（元）", "说明"),
            (
                (p.when.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"), money(p.amount), p.memo)
                for p in statement.payouts
            ),
            formats=(None, "0.00", None),
            widths=(18, 14, 50),
        )

    return _filename(statement, "xlsx"), xlsx_bytes(build)
