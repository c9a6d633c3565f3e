"""Paid orders synced with the carrier: waybills through the outbox, arq and the simulator.

    .venv/bin/python bench/logistics.py [--orders 2000] [--batch 1] [--faults 0]
                                        [--no-lookup] [--timeout 1200]

A fresh PostgreSQL database and Redis queue prefix; ``--orders`` orders are checked out and
paid (each opens a parcel and queues its waybill job); one ``farmgate worker`` process (quick
queue: dispatcher and sweep; slow queue: carrier calls) talks to the courier SIMULATOR in this
process, running while the orders are paid. Prints orders/s from the first payment to the
last waybill, the lag from payment to waybill (p50/p99), and the lost and duplicate waybills,
which must both be 0: lost = a parcel without a waybill at the end; duplicate = the carrier
holding more than one waybill for an order_ref (the simulator makes one per create call, so
this counts our calls), or two parcels sharing a number. ``--faults K`` injects K carrier
faults while the orders are paid (alternately a 503 and a create whose answer stalls past our
timeout); with the lookup (the simulator answers it) they all end in one waybill, without it
(``--no-lookup``, the production default) the stalled ones wait for a person, counted apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from catalog import fresh_pg  # noqa: E402

LOG = Path("/tmp/farmgate-bench-logistics-worker.log")
REDIS_URL = os.environ.get("FARMGATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1, help="orders paid per transaction")
    parser.add_argument("--faults", type=int, default=0)
    parser.add_argument("--no-lookup", action="store_true")
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()

    url = fresh_pg("farmgate_bench_logistics")
    prefix = f"fgbench-{uuid.uuid4().hex[:6]}"
    from farmgate.logistics.simulator import start_courier_simulator

    with start_courier_simulator() as sim:
        config = sim.config()
        env = {
            "FARMGATE_DATABASE_URL": url,
            "FARMGATE_REDIS_URL": REDIS_URL,
            "FARMGATE_QUEUE_PREFIX": prefix,
            "FARMGATE_KUAIDI100_CUSTOMER": config["customer"],
            "FARMGATE_KUAIDI100_KEY": config["key"],
            "FARMGATE_KUAIDI100_SECRET": config["secret"],
            "FARMGATE_KUAIDI100_BASE": config["base_url"],
            "FARMGATE_KUAIDI100_LABEL_BASE": config["label_base_url"],
            "FARMGATE_KUAIDI100_WAYBILL_LOOKUP": "false" if args.no_lookup else "true",
            "FARMGATE_COURIER_HTTP_TIMEOUT": "2",
            "FARMGATE_EMBEDDED_JOBS": "false",
        }
        os.environ.update(env)
        from farmgate import db
        from farmgate.config import settings

        for key, value in env.items():
            name = key.removeprefix("FARMGATE_").lower()
            if name not in ("embedded_jobs", "kuaidi100_waybill_lookup", "courier_http_timeout"):
                setattr(settings, name, value)
        settings.embedded_jobs = False
        db.set_engine(db.make_engine(url))
        db.upgrade_database()
        worker = subprocess.Popen(
            [sys.executable, "-m", "farmgate.cli", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=open(LOG, "wb"),
        )
        try:
            time.sleep(3)  # the worker is up before the first payment
            started = time.perf_counter()
            # paid while the worker runs
            order_ids = seed_paid_orders(args.orders, args.batch, sim, args.faults)
            print(f"# {len(order_ids)} orders paid", flush=True)
            done_at = wait_for_waybills(len(order_ids), args.timeout, worker)
            elapsed = (done_at or time.perf_counter()) - started
        finally:
            worker.terminate()
            worker.wait(20)
        report(sim, len(order_ids), elapsed)


def seed_paid_orders(n: int, batch: int, sim, faults: int) -> list[int]:  # type: ignore[no-untyped-def]
    from farmgate.db import session_scope
    from farmgate.models import Account, Role, Sku, Township
    from farmgate.orders import cart as carts
    from farmgate.orders import checkout
    from farmgate.orders import service as orders
    from farmgate.orders.schemas import CheckoutIn
    from tests.support import factories as f
    from tests.support.factories import ADDRESS

    with session_scope() as session:
        township = session.query(Township).first() or f.create_township(session)
        coop = f.create_cooperative(session, township)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        product = f.create_product(session, staff, f.first_village(session, township))
        sku = session.query(Sku).filter_by(product_id=product.id).one()
        sku.stock = n + 10
        sku_id = sku.id
        # A few buyers, reused: hashing a password per order would be most of this bench.
        buyers = [f.create_account(session).id for _ in range(50)]
    ids: list[int] = []
    fault_every = n // faults if faults else 0
    for start in range(0, n, batch):
        with session_scope() as session:
            for i in range(start, min(n, start + batch)):
                if fault_every and i % fault_every == fault_every // 2:
                    sim.inject("error_500" if (i // fault_every) % 2 else "create_then_timeout")
                buyer = session.get(Account, buyers[i % len(buyers)])
                ref = carts.get_cart(session, buyer, None, create=True)
                assert ref is not None
                carts.set_quantity(session, ref.cart, sku_id, 1)
                order = checkout.checkout(session, ref.cart, CheckoutIn(**ADDRESS), buyer)
                orders.mark_paid(session, order)
                ids.append(order.id)  # type: ignore[arg-type]
        if len(ids) % 1000 < batch:
            print(f"#   {len(ids)} orders", flush=True)
    return ids


def wait_for_waybills(n: int, timeout: float, worker: subprocess.Popen) -> float | None:  # type: ignore[type-arg]
    from sqlalchemy import func, select

    from farmgate.db import session_scope
    from farmgate.models import Parcel

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            done = session.scalar(
                select(func.count()).where(
                    Parcel.waybill_no.is_not(None) | (Parcel.create_state == "check")  # type: ignore[union-attr]
                )
            )
        if done >= n:
            return time.perf_counter()
        if worker.poll() is not None:
            sys.exit(f"the worker exited ({worker.returncode}) with {done}/{n} done; see {LOG}")
        time.sleep(0.5)
    return None


def report(sim, n: int, elapsed: float) -> None:  # type: ignore[no-untyped-def]
    from collections import Counter

    from farmgate.db import session_scope
    from farmgate.models import Order, Parcel

    with session_scope() as session:
        rows = session.query(Parcel, Order.paid_at).join(Order, Order.id == Parcel.order_id).all()
        lags = [
            (parcel.updated_at - paid_at).total_seconds()
            for parcel, paid_at in rows
            if parcel.waybill_no and paid_at
        ]
        waiting = sum(1 for parcel, _ in rows if parcel.create_state == "check")
        lost = sum(1 for parcel, _ in rows if not parcel.waybill_no) - waiting
        numbers = Counter(parcel.waybill_no for parcel, _ in rows if parcel.waybill_no)
        refs = {parcel.order_ref for parcel, _ in rows}
    at_carrier = Counter(p.order_ref for p in sim.state.parcels.values() if p.order_ref in refs)
    duplicates = sum(c - 1 for c in at_carrier.values() if c > 1) + sum(
        c - 1 for c in numbers.values() if c > 1
    )
    lags.sort()
    p50 = statistics.median(lags) if lags else float("nan")
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan")
    print(
        f"{'orders':>7} {'orders/s':>9} {'lag p50 s':>10} {'lag p99 s':>10} {'lost':>5} {'dup':>5}"
        f" {'to check':>9}"
    )
    print(
        f"{n:>7} {n / elapsed:>9.1f} {p50:>10.1f} {p99:>10.1f} {lost:>5} {duplicates:>5}"
        f" {waiting:>9}"
    )


if __name__ == "__main__":
    main()
