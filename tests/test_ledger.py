"""The money ledger: posting once per event, commission, refunds, settlement and payouts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.errors import InvalidTransition, ValidationFailed
from farmgate.jobs import runner
from farmgate.ledger import accounts, checks, payouts, posting, settlement
from farmgate.models import LedgerEntry, LedgerTxn, OrderStatus, OutboxJob, Role
from tests.support import desk
from tests.support import factories as f
from tests.support.ledger import complete, post_pending, refund_part


def _txns(session: Session, kind: str) -> list[LedgerTxn]:
    return list(session.scalars(select(LedgerTxn).where(LedgerTxn.kind == kind)))


def test_a_paid_order_is_posted_once_even_when_its_job_runs_twice(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    assert post_pending(session, times=2) == 1
    (txn,) = _txns(session, "order_paid")
    assert txn.key == f"order_paid:{order.id}" and txn.occurred_at == order.paid_at
    assert posting.balance(session, accounts.STATION_CASH) == order.total_fen  # paid in cash
    assert settlement.pending_fen(session, s.coop.id) == order.total_fen  # no commission
    assert settlement.available_fen(session, s.coop.id) == 0  # not delivered yet
    assert checks.all_problems(session) == []


def test_the_outbox_runner_posts_once_when_a_job_is_run_again(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    session.commit()
    row = session.scalars(
        select(OutboxJob).where(OutboxJob.key == f"ledger:order_paid:{order.id}")
    ).one()
    assert runner.execute(row.id).outcome == "done"
    # As if the worker was killed after committing but before the queue heard: run it again.
    session.execute(update(OutboxJob).where(OutboxJob.id == row.id).values(status="pending"))
    session.commit()
    assert runner.execute(row.id).outcome == "done"
    session.expire_all()
    assert len(_txns(session, "order_paid")) == 1
    assert checks.all_problems(session) == []


def test_commission_by_the_most_specific_rate(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = desk.shop(session)
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    monkeypatch.setattr(
        settings,
        "commission_bp",
        {"default": 100, f"township:{s.township.code}": 200, f"cooperative:{s.coop.id}": 500},
    )
    order = desk.order(session, s.sku, other.sku)
    post_pending(session)
    parts = {p.cooperative_id: p for p in posting.parts(session, order)}
    mine, theirs = parts[s.coop.id], parts[other.coop.id]
    fee_mine = (mine.items_fen * 500 + 5000) // 10000
    fee_theirs = (theirs.items_fen * 200 + 5000) // 10000  # the township's rate
    assert fee_mine > 0 and fee_theirs > 0
    assert (
        settlement.pending_fen(session, s.coop.id) == mine.items_fen + mine.shipping_fen - fee_mine
    )
    assert -posting.balance(session, accounts.COMMISSION) == fee_mine + fee_theirs
    assert checks.all_problems(session) == []


def test_a_refund_comes_back_from_its_cooperative_with_its_commission(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "commission_bp", {"default": 1000})
    s = desk.shop(session)
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    order = desk.order(session, s.sku, other.sku)
    before_other = None
    post_pending(session)
    before_other = settlement.pending_fen(session, other.coop.id)
    before = settlement.pending_fen(session, s.coop.id)
    admin = f.create_account(session, role=Role.ADMIN)
    refund = refund_part(session, order, s.owner, admin, 1000)
    assert refund is not None
    assert post_pending(session, times=2) == 1
    (txn,) = _txns(session, "refund")
    assert txn.key == f"refund:{refund.id}"
    assert posting.balance(session, accounts.STATION_CASH) == order.total_fen - 1000
    part = next(p for p in posting.parts(session, order) if p.cooperative_id == s.coop.id)
    fee = (part.items_fen * 1000 + 5000) // 10000
    back = fee * 1000 // (part.items_fen + part.shipping_fen)
    assert settlement.pending_fen(session, s.coop.id) == before - 1000 + back
    assert settlement.pending_fen(session, other.coop.id) == before_other  # not theirs
    assert checks.all_problems(session) == []


def test_money_is_payable_days_after_completion_unless_held(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    held = desk.order(session, s.sku)
    complete(session, order)
    post_pending(session)  # the completion's job, run early: not due yet
    assert settlement.available_fen(session, s.coop.id) == 0
    now = utcnow()
    later = now + timedelta(days=settings.settlement_days, minutes=1)
    assert settlement.settle_due(session, now) == 0
    # An order completed and then in a refund request (the after-sales hold) waits.
    complete(session, held)
    held.status = OrderStatus.REFUND_REQUESTED
    assert settlement.is_held(session, held)
    assert settlement.settle_due(session, later) == 1
    assert settlement.available_fen(session, s.coop.id) == order.total_fen
    assert settlement.pending_fen(session, s.coop.id) == held.total_fen
    assert settlement.settle_due(session, later) == 0  # once
    held.status = OrderStatus.COMPLETED
    assert settlement.settle_due(session, later) == 1  # the hold lifted
    assert checks.all_problems(session) == []


def test_payouts_never_exceed_what_is_available_and_a_return_gives_it_back(
    session: Session,
) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    complete(session, order)
    post_pending(session)
    admin = f.create_account(session, role=Role.ADMIN)
    with pytest.raises(ValidationFailed) as refused:
        payouts.record(session, admin, s.coop.id, 1, bank_ref="B1")  # nothing settled yet
    assert "最多可打款 0.00 元" in refused.value.fields["amount"]
    settlement.settle_due(session, utcnow() + timedelta(days=settings.settlement_days + 1))
    with pytest.raises(ValidationFailed):
        payouts.record(session, admin, s.coop.id, order.total_fen + 1, bank_ref="B1")
    with pytest.raises(ValidationFailed):
        payouts.record(session, admin, s.coop.id, 100, bank_ref=" ")
    paid = payouts.record(session, admin, s.coop.id, order.total_fen - 100, bank_ref="B2")
    assert settlement.available_fen(session, s.coop.id) == 100
    assert checks.all_problems(session) == []
    payouts.mark_returned(session, admin, paid.id, "户名不符")
    assert settlement.available_fen(session, s.coop.id) == order.total_fen
    with pytest.raises(InvalidTransition):
        payouts.mark_returned(session, admin, paid.id, "again")
    assert posting.balance(session, accounts.BANK) == 0
    assert checks.all_problems(session) == []


def test_entries_are_append_only(session: Session) -> None:
    s = desk.shop(session)
    desk.order(session, s.sku)
    post_pending(session)
    entry = session.scalars(select(LedgerEntry)).first()
    assert entry is not None
    with pytest.raises(Exception, match="append-only"):
        with session.begin_nested():
            session.execute(
                text("UPDATE ledger_entry SET amount_fen = 1 WHERE id = :i"), {"i": entry.id}
            )


def test_an_unbalanced_transaction_is_never_posted(session: Session) -> None:
    with pytest.raises(posting.Unbalanced):
        posting.post(session, "bad:1", "adjustment", [posting.Line(accounts.BANK, 5, "adjustment")])
    assert posting.posted(session, "bad:1") is None


def test_an_event_posted_already_is_not_posted_again(session: Session) -> None:
    lines = [
        posting.Line(accounts.BANK, 5, "adjustment"),
        posting.Line(accounts.COMMISSION, -5, "adjustment"),
    ]
    txn_id = posting.post(session, "adj:1", "adjustment", lines)
    assert txn_id is not None and posting.posted(session, "adj:1").id == txn_id  # type: ignore[union-attr]
    assert posting.post(session, "adj:1", "adjustment", lines) is None
    # posted already: its lines are not looked at again
    assert posting.post(session, "adj:1", "adjustment", lines[:1]) is None
    entries = session.query(LedgerEntry).filter_by(txn_id=txn_id).all()
    assert sorted(e.amount_fen for e in entries) == [-5, 5]


def test_a_statement_adds_up_and_downloads(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from openpyxl import load_workbook

    from farmgate.ledger import statements

    monkeypatch.setattr(settings, "commission_bp", {"default": 500})
    s = desk.shop(session)
    admin = f.create_account(session, role=Role.ADMIN)
    first = desk.order(session, s.sku)
    second = desk.order(session, s.sku)
    post_pending(session)
    refund_part(session, second, s.owner, admin, 300)
    complete(session, first)
    post_pending(session)
    settlement.settle_due(session, utcnow() + timedelta(days=settings.settlement_days + 1))
    paid = payouts.record(session, admin, s.coop.id, 1000, bank_ref="NX-1")
    period = statements.month()
    stmt = statements.build(session, s.coop.id, period)
    fee = 2 * ((first.items_fen * 500 + 5000) // 10000)
    assert stmt.totals["goods"] == first.items_fen + second.items_fen
    assert stmt.totals["refund"] == -300
    assert stmt.totals["payout"] == -1000
    assert stmt.order_count == 2 and {r.number for r in stmt.orders} == {
        first.number,
        second.number,
    }
    assert stmt.opening == 0
    owed = settlement.available_fen(session, s.coop.id) + settlement.pending_fen(session, s.coop.id)
    assert stmt.closing == owed  # the statement ends where the accounts are
    assert -fee < stmt.totals["commission"] < 0  # part of the second's came back with the refund
    assert [p.amount for p in stmt.payouts] == [-1000] and "NX-1" in stmt.payouts[0].memo
    after = statements.build(session, s.coop.id, period.next())
    assert after.opening == stmt.closing and after.order_count == 0
    name, pdf = statements.pdf(session, stmt)
    assert pdf.startswith(b"%PDF") and name == f"statement-{s.coop.id}-{period.key}.pdf"
    name, data = statements.xlsx(session, stmt)
    book = load_workbook(io.BytesIO(data))
    orders = list(book["订单"].iter_rows(values_only=True))
    assert orders[0][0] == "订单号" and len(orders) == 3
    assert paid.amount_fen == 1000
    with pytest.raises(ValidationFailed):
        statements.month("2026-13")


def test_a_refund_after_settlement_comes_from_the_available_money(session: Session) -> None:
    from farmgate.payments import service as payments
    from farmgate.payments import tasks as payment_tasks

    s = desk.shop(session)
    order = desk.order(session, s.sku)
    complete(session, order)
    post_pending(session)
    settlement.settle_due(session, utcnow() + timedelta(days=settings.settlement_days + 1))
    admin = f.create_account(session, role=Role.ADMIN)
    payouts.record(session, admin, s.coop.id, order.total_fen, bank_ref="ALL")
    refund = payments.approve_refund(session, order, 500, "售后：少发一袋")
    payment_tasks.refund(session, {"refund_id": refund.id})
    session.flush()
    payments.cash_returned(session, refund, admin)
    post_pending(session)
    # Paid out in full, then refunded: the cooperative owes it back; no payout was too large.
    assert settlement.available_fen(session, s.coop.id) == -500
    assert checks.all_problems(session) == []


def test_station_cash_handed_over_to_the_bank_once(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    post_pending(session)
    admin = f.create_account(session, role=Role.ADMIN)
    with pytest.raises(ValidationFailed):
        payouts.cash_handed_over(
            session, admin, order.total_fen + 1, station="高坪村服务站", slip_no="D1"
        )
    assert payouts.cash_handed_over(session, admin, order.total_fen, station="高坪村", slip_no="D1")
    assert not payouts.cash_handed_over(
        session, admin, order.total_fen, station="高坪村", slip_no="D1"
    )
    assert posting.balance(session, accounts.STATION_CASH) == 0
    assert posting.balance(session, accounts.BANK) == order.total_fen
    assert checks.all_problems(session) == []
