"""Daily reconciliation: WeChat Pay's trade bill against our payment intents and refunds.

One merchant account serves API v2 and v3 alike, so one bill per day lists every WeChat trade;
it is fetched through the configured version and compared with the intents of both. Each
difference becomes a township alert (kind ``bill_mismatch``), keyed by day, kind and number,
so checking a day again adds nothing it already said. ``bill_check`` keeps the last check of
each day; the periodic job checks yesterday once, after WeChat has published the bill.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import utcnow
from farmgate.models import BillCheck, IntentStatus, PaymentIntent, Refund, RefundStatus
from farmgate.payments import bills, providers
from farmgate.payments.wechat_v2 import WeChatPayV2
from farmgate.payments.wechat_v3 import WeChatPayV3
from farmgate.timeutil import LOCAL_TZ
from farmgate.trace.alerts import raise_alert

log = logging.getLogger(__name__)

ALERT_KIND = "bill_mismatch"
WECHAT = ("wechat_v2", "wechat_v3")
# What each kind of difference is called on the console.
KINDS = {
    "missing_ours": "微信账单有、平台没有",
    "missing_theirs": "平台有、微信账单没有",
    "amount": "金额不一致",
    "state": "状态不一致",
}


@dataclass(frozen=True)
class Difference:
    kind: str  # a key of KINDS
    refund: bool  # a refund (else a payment)
    number: str  # out_refund_no or out_trade_no
    ours_fen: int | None = None
    theirs_fen: int | None = None
    ours_state: str = ""
    theirs_state: str = ""

    @property
    def key(self) -> str:
        return f"{'r' if self.refund else 'p'}:{self.number}"

    def message(self, day: date) -> str:
        what = "退款" if self.refund else "支付"
        text = f"{day} 微信对账：{what} {self.number} {KINDS[self.kind]}"
        if self.kind == "amount":
            text += f"（平台 ¥{_yuan(self.ours_fen)}，微信 ¥{_yuan(self.theirs_fen)}）"
        elif self.kind == "state":
            text += f"（平台「{self.ours_state}」，微信「{self.theirs_state}」）"
        elif self.kind == "missing_ours":
            text += f"（微信 ¥{_yuan(self.theirs_fen)}）"
        else:
            text += f"（平台 ¥{_yuan(self.ours_fen)}）"
        return text


@dataclass(frozen=True)
class Result:
    day: date
    provider: str
    lines: int
    differences: list[Difference]
    new_alerts: int


def _yuan(fen: int | None) -> str:
    return bills.yuan_text(fen or 0)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day ``day`` as an aware [start, end) pair."""
    start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class _Record:
    """One payment or refund as either side knows it."""

    fen: int
    settled: bool  # paid, or refunded successfully
    state: str  # what the console calls its state


def _ours(session: Session, refund: bool, numbers: set[str]) -> dict[str, _Record]:
    """Our payments (or refunds) with these numbers, in one query per thousand."""
    found: dict[str, _Record] = {}
    ordered = sorted(numbers)
    for i in range(0, len(ordered), 1000):
        chunk = ordered[i : i + 1000]
        if refund:
            for r in session.scalars(select(Refund).where(col(Refund.out_refund_no).in_(chunk))):
                settled = r.status == RefundStatus.SUCCEEDED
                found[r.out_refund_no] = _Record(
                    r.amount_fen, settled, RefundStatus.label_of(r.status)
                )
        else:
            query = select(PaymentIntent).where(
                col(PaymentIntent.out_trade_no).in_(chunk), col(PaymentIntent.provider).in_(WECHAT)
            )
            for p in session.scalars(query):
                settled = p.status == IntentStatus.PAID
                found[p.out_trade_no] = _Record(
                    p.amount_fen, settled, IntentStatus.label_of(p.status)
                )
    return found


def _settled_that_day(session: Session, refund: bool, day: date) -> dict[str, int]:
    """Our payments (or refunds) that completed on ``day``: number → fen."""
    start, end = day_bounds(day)
    if refund:
        rows = session.execute(
            select(col(Refund.out_refund_no), col(Refund.amount_fen))
            .join(PaymentIntent, col(PaymentIntent.id) == Refund.intent_id)
            .where(
                col(PaymentIntent.provider).in_(WECHAT),
                col(Refund.status) == RefundStatus.SUCCEEDED,
                col(Refund.completed_at) >= start,
                col(Refund.completed_at) < end,
            )
            .order_by(col(Refund.id))
        )
    else:
        rows = session.execute(
            select(col(PaymentIntent.out_trade_no), col(PaymentIntent.amount_fen))
            .where(
                col(PaymentIntent.provider).in_(WECHAT),
                col(PaymentIntent.status) == IntentStatus.PAID,
                col(PaymentIntent.paid_at) >= start,
                col(PaymentIntent.paid_at) < end,
            )
            .order_by(col(PaymentIntent.id))
        )
    return {number: fen for number, fen in rows}


def _differ(refund: bool, number: str, ours: _Record | None, theirs: _Record) -> Difference | None:
    if ours is None:
        return Difference("missing_ours", refund, number, theirs_fen=theirs.fen)
    if ours.fen != theirs.fen:
        return Difference("amount", refund, number, ours_fen=ours.fen, theirs_fen=theirs.fen)
    if theirs.settled and not ours.settled:
        return Difference("state", refund, number, ours_state=ours.state, theirs_state=theirs.state)
    return None


def compare(session: Session, day: date, lines: list[bills.BillLine]) -> list[Difference]:
    """What differs between the bill's rows and our records of ``day`` (none: a clean day)."""
    # The bill's side, by kind: a payment line counts once it succeeded; a refund line whose
    # status is blank (v2's older bills) or SUCCESS is a finished refund.
    theirs: dict[bool, dict[str, _Record]] = {False: {}, True: {}}
    for line in lines:
        if line.is_refund:
            done = line.refund_status in ("", "SUCCESS")
            theirs[True][line.out_refund_no] = _Record(line.refund_fen, done, "退款成功")
        elif line.state == "SUCCESS":
            theirs[False][line.out_trade_no] = _Record(line.amount_fen, True, "支付成功")
    differences: list[Difference] = []
    for refund in (False, True):
        ours = _ours(session, refund, set(theirs[refund]))
        for number, record in theirs[refund].items():
            diff = _differ(refund, number, ours.get(number), record)
            if diff is not None:
                differences.append(diff)
        for number, fen in _settled_that_day(session, refund, day).items():
            if number not in theirs[refund]:
                differences.append(Difference("missing_theirs", refund, number, ours_fen=fen))
    return differences


def fetch_bill(day: date) -> tuple[str, str]:
    """The day's bill text from WeChat Pay, through the configured API; (provider, text).
    Raises PaymentFailed when WeChat Pay is not configured, PaymentError when it fails."""
    provider = providers.wechat()
    if not isinstance(provider, WeChatPayV2 | WeChatPayV3):
        raise providers.PaymentFailed("微信支付未配置")
    return provider.name, provider.trade_bill(day)


def reconcile_day(session: Session, day: date) -> Result:
    """Fetch, read and compare ``day``'s bill; store an alert per new difference."""
    name, text = fetch_bill(day)
    lines = bills.parse(text)
    differences = compare(session, day, lines)
    added = 0
    for diff in differences:
        alert = raise_alert(
            session,
            f"bill:{day.isoformat()}:{diff.kind}:{diff.key}"[:80],
            ALERT_KIND,
            diff.message(day),
            cooperative_id=None,
            batch_id=None,
            details={
                "bill_date": day.isoformat(),
                "difference": diff.kind,
                "record": "refund" if diff.refund else "payment",
                "number": diff.number,
                "ours_fen": diff.ours_fen,
                "theirs_fen": diff.theirs_fen,
                "ours_state": diff.ours_state,
                "theirs_state": diff.theirs_state,
            },
        )
        added += alert is not None
    check = session.scalars(select(BillCheck).where(col(BillCheck.bill_date) == day)).first()
    if check is None:
        check = BillCheck(bill_date=day, provider=name)
    check.provider, check.lines, check.differences = name, len(lines), len(differences)
    check.checked_at = utcnow()
    session.add(check)
    session.flush()
    log.info("bill %s: %d lines, %d differences (%d new)", day, len(lines), len(differences), added)
    return Result(day, name, len(lines), differences, added)


def checked(session: Session, day: date) -> bool:
    return (
        session.scalars(select(col(BillCheck.id)).where(col(BillCheck.bill_date) == day)).first()
        is not None
    )
