"""The money ledger on PostgreSQL: posting rate, and a cooperative's statement over 100,000
order lines.

    .venv/bin/python bench/ledger.py [--lines 100000] [--post 2000] [--months 6] [--requests 20]

Seeds a fresh database (``farmgate_bench_ledger``) with catalog.py's township, a product of
one cooperative and ``--lines`` order lines of it (4 a paid order, spread over ``--months``
months, written with executemany). Then:

* posting: the first ``--post`` orders posted through ``posting.order_paid`` (the job's body),
  one transaction each, committed every 100: transactions/s; the rest of the orders get the
  same entries written in bulk (posting them one by one would only repeat the measurement);
* every order older than the settlement delay settled (``settlement.settle_due``), 3 % of
  the orders refunded in part through ``posting.refund``, one payout a month;
* the statement: ``statements.build`` for the busiest month (p50/p99), then ``/coop/money``
  and its PDF and XLSX over one uvicorn worker, signed in as the cooperative's staff.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from catalog import fresh_pg, seed, serve, stop  # noqa: E402

DB_NAME = "farmgate_bench_ledger"


def make_app():  # type: ignore[no-untyped-def]
    from farmgate.app import create_app

    return create_app(check_schema=False, run_jobs=False)


def p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def seed_orders(url: str, lines: int, months: int) -> tuple[int, int]:
    """``lines`` order lines (4 an order) of one cooperative's product; returns (coop, orders)."""
    from sqlalchemy import insert, select, text

    from farmgate import db
    from farmgate.models import Fulfilment, Order, OrderLine, Product, Sku

    seed(url, 10)
    engine = db.make_engine(url)
    rng = random.Random(7)
    now = db.utcnow()
    orders = lines // 4
    with engine.begin() as conn:
        product = conn.execute(select(Product).order_by(Product.id).limit(1)).one()
        sku = conn.execute(select(Sku).where(Sku.product_id == product.id).limit(1)).one()
        span = months * 30 * 86_400
        for start in range(0, orders, 5000):
            batch = range(start + 1, min(orders, start + 5000) + 1)
            o_rows, f_rows, l_rows = [], [], []
            for i in batch:
                paid = now - timedelta(seconds=span * (orders - i) / orders + 3600)
                qty = [rng.randint(1, 3) for _ in range(4)]
                items = sum(q * sku.price_fen for q in qty)
                o_rows.append(
                    {
                        "id": i,
                        "number": f"B{i:010d}",
                        "status": "completed",
                        "recipient": "基准",
                        "phone": "13800000000",
                        "province": "湖南省",
                        "city": "怀化市",
                        "county": "辰溪县",
                        "township": "谭家场乡",
                        "village": "",
                        "address_detail": "基准地址",
                        "delivery_method": "post",
                        "note": "",
                        "items_fen": items,
                        "shipping_fen": 1000,
                        "total_fen": items + 1000,
                        "created_at": paid - timedelta(minutes=2),
                        "pay_by": paid + timedelta(minutes=28),
                        "paid_at": paid,
                        "closed_at": paid + timedelta(days=3),
                    }
                )
                f_rows.append(
                    {
                        "id": i,
                        "order_id": i,
                        "cooperative_id": product.cooperative_id,
                        "status": "delivered",
                        "items_fen": items,
                        "shipping_fen": 1000,
                    }
                )
                l_rows += [
                    {
                        "order_id": i,
                        "fulfilment_id": i,
                        "sku_id": sku.id,
                        "product_id": product.id,
                        "product_name": product.name[:60],
                        "sku_spec": sku.spec,
                        "unit": product.unit,
                        "unit_price_fen": sku.price_fen,
                        "quantity": q,
                        "line_total_fen": q * sku.price_fen,
                    }
                    for q in qty
                ]
            conn.execute(insert(Order), o_rows)
            conn.execute(insert(Fulfilment), f_rows)
            conn.execute(insert(OrderLine), l_rows)
        for table in ("orders", "fulfilment"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    engine.dispose()
    return int(product.cooperative_id), orders


def post_all(url: str, orders: int, post: int) -> float:
    """The first ``post`` orders through the posting code (returns txn/s), the rest in bulk."""
    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from farmgate import db
    from farmgate.ledger import accounts, posting
    from farmgate.models import Fulfilment, LedgerEntry, LedgerTxn, Order

    engine = db.make_engine(url)
    with Session(engine) as session:
        t0 = time.perf_counter()
        for start in range(1, post + 1, 100):
            for order in session.scalars(
                select(Order).where(Order.id >= start, Order.id < start + 100).order_by(Order.id)
            ):
                posting.order_paid(session, order)
            session.commit()
        rate = post / (time.perf_counter() - t0)
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                Order.id,
                Order.paid_at,
                Order.total_fen,
                Fulfilment.cooperative_id,
                Fulfilment.items_fen,
                Fulfilment.shipping_fen,
            )
            .join(Fulfilment, Fulfilment.order_id == Order.id)
            .where(Order.id > post)
            .order_by(Order.id)
        ).all()
        next_txn = (
            conn.execute(select(LedgerTxn.id).order_by(LedgerTxn.id.desc())).scalar() or 0
        ) + 1
        for start in range(0, len(rows), 5000):
            txns, entries = [], []
            for oid, paid, total, coop, items, shipping in rows[start : start + 5000]:
                txns.append(
                    {
                        "id": next_txn,
                        "key": f"order_paid:{oid}",
                        "kind": "order_paid",
                        "occurred_at": paid,
                        "posted_at": paid,
                        "order_id": oid,
                        "memo": "",
                    }
                )
                pending = accounts.cooperative(coop, accounts.PENDING)
                for account, amount, kind, c in (
                    (accounts.STATION_CASH, total, "payment", None),
                    (pending, -items, "goods", coop),
                    (pending, -shipping, "shipping", coop),
                ):
                    entries.append(
                        {
                            "txn_id": next_txn,
                            "account": account,
                            "amount_fen": amount,
                            "kind": kind,
                            "cooperative_id": c,
                            "order_id": oid,
                            "occurred_at": paid,
                        }
                    )
                next_txn += 1
            conn.execute(insert(LedgerTxn), txns)
            conn.execute(insert(LedgerEntry), entries)
        from sqlalchemy import text

        conn.execute(text("SELECT setval('ledger_txn_id_seq', (SELECT max(id) FROM ledger_txn))"))
    engine.dispose()
    return rate


def bulk_settle(session: Any) -> None:
    """The entries settle_due would post for every due order, written in bulk."""
    from sqlalchemy import func, insert, select, text

    from farmgate.config import settings
    from farmgate.db import utcnow
    from farmgate.ledger import accounts
    from farmgate.models import LedgerEntry, LedgerTxn, Order

    cutoff = utcnow() - timedelta(days=settings.settlement_days)
    done = select(LedgerTxn.order_id).where(LedgerTxn.kind == "settle")
    rows = session.execute(
        select(
            LedgerEntry.order_id,
            LedgerEntry.cooperative_id,
            Order.closed_at,
            func.sum(LedgerEntry.amount_fen),
        )
        .join(Order, Order.id == LedgerEntry.order_id)
        .where(
            Order.status == "completed",
            Order.closed_at <= cutoff,
            Order.id.not_in(done),
            LedgerEntry.cooperative_id.is_not(None),
            LedgerEntry.account.endswith(":pending"),
        )
        .group_by(LedgerEntry.order_id, LedgerEntry.cooperative_id, Order.closed_at)
    ).all()
    next_txn = (session.scalar(select(func.max(LedgerTxn.id))) or 0) + 1
    txns, entries = [], []
    for oid, coop, closed, total in rows:
        due = closed + timedelta(days=settings.settlement_days)
        txns.append(
            {
                "id": next_txn,
                "key": f"settle:{oid}",
                "kind": "settle",
                "occurred_at": due,
                "posted_at": due,
                "order_id": oid,
                "memo": "",
            }
        )
        for part, amount in ((accounts.PENDING, -total), (accounts.AVAILABLE, total)):
            entries.append(
                {
                    "txn_id": next_txn,
                    "account": accounts.cooperative(coop, part),
                    "amount_fen": amount,
                    "kind": "settle",
                    "cooperative_id": coop,
                    "order_id": oid,
                    "occurred_at": due,
                }
            )
        next_txn += 1
    for start in range(0, len(txns), 5000):
        session.execute(insert(LedgerTxn), txns[start : start + 5000])
    for start in range(0, len(entries), 10000):
        session.execute(insert(LedgerEntry), entries[start : start + 10000])
    session.execute(text("SELECT setval('ledger_txn_id_seq', (SELECT max(id) FROM ledger_txn))"))


def refunds_settlement_payouts(url: str, coop: int, orders: int, months: int) -> tuple[int, float]:
    """3 % of orders refunded in part, everything due settled, a payout a month."""
    from sqlalchemy.orm import Session

    from farmgate import db
    from farmgate.accounts import service as accounts_service
    from farmgate.ledger import payouts, posting, settlement
    from farmgate.models import IntentStatus, Order, PaymentIntent, Refund, Role

    engine = db.make_engine(url)
    rng = random.Random(9)
    with Session(engine) as session:
        admin = accounts_service.create_account(
            session, phone="13800000001", password="bench-password-1", role=Role.ADMIN
        )
        for oid in rng.sample(range(1, orders + 1), orders * 3 // 100):
            order = session.get(Order, oid)
            assert order is not None and order.paid_at is not None
            intent = PaymentIntent(
                order_id=oid,
                provider="cash",
                channel="cash",
                out_trade_no=f"{order.number}C",
                amount_fen=order.total_fen,
                status=IntentStatus.PAID,
                paid_at=order.paid_at,
            )
            session.add(intent)
            session.flush()
            refund = Refund(
                order_id=oid,
                intent_id=intent.id or 0,
                out_refund_no=f"{order.number}R",
                amount_fen=500,
                status="succeeded",
                completed_at=order.paid_at + timedelta(days=1),
            )
            session.add(refund)
            session.flush()
            posting.refund(session, refund)
        session.commit()
        t0 = time.perf_counter()
        settled = 0
        for _ in range(2):  # measured on 1,000 orders; the rest settled in bulk below
            settled += settlement.settle_due(session, limit=500)
            session.commit()
        settle_rate = settled / (time.perf_counter() - t0)
        bulk_settle(session)
        session.commit()
        now = db.utcnow()
        for m in range(months, 0, -1):
            when = now - timedelta(days=30 * m - 20)
            available = settlement.available_fen(session, coop)
            if available > 100:
                payouts.record(
                    session, admin, coop, available // 2, bank_ref=f"BENCH{m}", made_at=when
                )
        session.commit()
        staff = accounts_service.create_account(
            session,
            phone="13800000002",
            password="bench-password-1",
            role=Role.COOPERATIVE,
            cooperative_id=coop,
        )
        session.commit()
        del staff
    engine.dispose()
    return settled, settle_rate


def busiest_month(url: str, coop: int) -> tuple[str, int, float, float]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from farmgate import db
    from farmgate.ledger import statements
    from farmgate.models import LedgerEntry

    engine = db.make_engine(url)
    with Session(engine) as session:
        month = statements.month()
        best, best_n = month, -1
        for _ in range(8):
            start, end = month.bounds()
            n = (
                session.scalar(
                    select(func.count()).where(
                        LedgerEntry.cooperative_id == coop,
                        LedgerEntry.occurred_at >= start,
                        LedgerEntry.occurred_at < end,
                    )
                )
                or 0
            )
            if n > best_n:
                best, best_n = month, n
            month = month.previous()
        samples = []
        for _ in range(20):
            t0 = time.perf_counter()
            statement = statements.build(session, coop, best)
            samples.append((time.perf_counter() - t0) * 1000)
        p50, p99 = p50_p99(samples)
    engine.dispose()
    return best.key, statement.order_count, p50, p99


def staff_cookie(url: str) -> str:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from farmgate import db
    from farmgate.accounts import service as accounts_service
    from farmgate.models import Account

    engine = db.make_engine(url)
    with Session(engine) as session:
        staff = session.scalars(select(Account).where(Account.phone == "13800000002")).one()
        token = accounts_service.issue_token(session, staff, "session").token
        session.commit()
    engine.dispose()
    return token


def timed(client: httpx.Client, path: str, n: int) -> tuple[float, float, int]:
    for _ in range(2):
        client.get(path).raise_for_status()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return *p50_p99(samples), len(response.content)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--post", type=int, default=2000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    url = fresh_pg(DB_NAME)
    t0 = time.perf_counter()
    coop, orders = seed_orders(url, args.lines, args.months)
    print(f"# seeded {orders:,} orders, {orders * 4:,} lines in {time.perf_counter() - t0:.0f} s")
    rate = post_all(url, orders, args.post)
    print(f"posting (order_paid, one txn each, commit per 100): {rate:,.0f} transactions/s")
    settled, settle_rate = refunds_settlement_payouts(url, coop, orders, args.months)
    print(
        f"settlement (settle_due, 2 batches of 500): {settled:,} orders, {settle_rate:,.0f} txn/s"
    )
    key, count, p50, p99 = busiest_month(url, coop)
    print(f"statements.build, month {key} ({count:,} orders): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    proc, base = serve("ledger:make_app", {"FARMGATE_DATABASE_URL": url}, factory=True)
    try:
        cookie = staff_cookie(url)
        with httpx.Client(base_url=base, cookies={"fg_session": cookie}, timeout=120) as client:
            for _ in range(100):
                try:
                    client.get("/api/v1/categories")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(
                f"\n{'request (one uvicorn worker)':<34} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>10}"
            )
            for label, path, n in (
                ("statement page", f"/coop/money?month={key}", args.requests),
                ("statement page, last page", f"/coop/money?month={key}&page=9999", args.requests),
                ("statement PDF", f"/coop/money/statement.pdf?month={key}", 3),
                ("statement XLSX", f"/coop/money/statement.xlsx?month={key}", 3),
            ):
                p50, p99, size = timed(client, path, n)
                print(f"{label:<34} {p50:>8.1f} {p99:>8.1f} {size:>10,}", flush=True)
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
