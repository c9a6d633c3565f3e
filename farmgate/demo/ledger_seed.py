"""SAMPLE money for the demo: the sample order history posted to the ledger, settled, and
last month's payouts to each cooperative, so the statements have content."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.ledger import accounts, backfill, payouts, statements
from farmgate.models import Account, Cooperative, LedgerEntry, Role
from farmgate.timeutil import LOCAL_TZ


def seed_ledger(session: Session) -> int:
    """Post the history and pay each cooperative what was available at last month's end."""
    backfill.post_history(session)
    admin = session.scalars(select(Account).where(col(Account.role) == Role.ADMIN)).first()
    if admin is None:
        return 0
    this_month = statements.month()
    paid_on = datetime.combine(this_month.start - timedelta(days=1), time(10), LOCAL_TZ)
    made = 0
    for coop in session.scalars(select(Cooperative).order_by(col(Cooperative.id))):
        available = -int(
            session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                    col(LedgerEntry.account)
                    == accounts.cooperative(coop.id or 0, accounts.AVAILABLE),
                    col(LedgerEntry.occurred_at) < paid_on,
                )
            )
            or 0
        )
        if available > 0:
            payouts.record(
                session,
                admin,
                coop.id or 0,
                available,
                bank_ref=f"DEMO{paid_on:%Y%m}{coop.id:03d}",
                note="示例打款（演示数据）",
                made_at=paid_on,
            )
            made += 1
    return made
