"""A mixed load on the production set-up, then a check that the books balance exactly.

    .venv/bin/python bench/load.py [--users 16] [--seconds 60] [--web-workers 2]

A fresh PostgreSQL database with the demo township (SKU stocks raised), Redis, one
``farmgate worker`` (arq, both queues) and ``uvicorn farmgate.asgi:app --workers N``; the
WeChat Pay SIMULATOR in this process pays and notifies. ``--users`` threads loop for
``--seconds``, each request drawn from: browse (home, product pages) 40 %, search 25 %, trace
pages (what a QR scan opens) 25 %, buy 10 % (cart, checkout for pickup, WeChat intent, the
simulator pays). Rate limits are off: every user comes from this one address.

Printed: requests, per-second rate, p50/p99 and errors per kind. Then, once the jobs have
drained: stock taken equals the units of orders not cancelled, SKU by SKU; every paid order
has exactly one paid intent of its amount, and no intent is paid for an unpaid order.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from buyers import SMS_LIMITS, register_buyer  # noqa: E402
from catalog import free_port, fresh_pg  # noqa: E402

from farmgate.payments.simulator import start_simulator  # noqa: E402
from farmgate.sms.simulator import SmsSimulatorServer, start_sms_simulator  # noqa: E402

REDIS_URL = os.environ.get("FARMGATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
LOG = Path("/tmp/farmgate-bench-load.log")
QUERIES = ["辣椒", "lajiao", "腊肉", "稻花鱼", "茶油", "tjc", "大米", "鸡蛋", "la", "高坪"]
PICKUP = {
    "recipient": "压测买家",
    "phone": "13700000000",
    "province": "湖南省",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "village": "谭家场村",
    "address_detail": "服务站自提",
    "delivery_method": "pickup",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    url = fresh_pg("farmgate_bench_load")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with start_simulator() as sim, start_sms_simulator() as sms:
        env = {
            **sms.environment(),
            **SMS_LIMITS,
            **os.environ,
            "FARMGATE_DATABASE_URL": url,
            "FARMGATE_REDIS_URL": REDIS_URL,
            "FARMGATE_QUEUE_PREFIX": f"fgload-{uuid.uuid4().hex[:6]}",
            "FARMGATE_MEDIA_DIR": tempfile.mkdtemp(),
            "FARMGATE_PUBLIC_BASE_URL": base,
            "FARMGATE_RATE_LIMITS": "false",
            "FARMGATE_WECHAT_APPID": sim.state.appid,
            "FARMGATE_WECHAT_MCH_ID": sim.state.mch_id,
            "FARMGATE_WECHAT_API_KEY": sim.state.api_key,
            "FARMGATE_WECHAT_API_BASE": sim.url,
        }
        subprocess.run(
            [sys.executable, "-m", "farmgate.cli", "demo", "--no-serve"],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        stock, skus, traces = prepare(url)
        logs = open(LOG, "wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "farmgate.cli", "worker"],
            env=env,
            cwd=ROOT,
            stdout=logs,
            stderr=logs,
        )
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "farmgate.asgi:app",
                "--port",
                str(port),
                "--workers",
                str(args.web_workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
            stdout=logs,
            stderr=logs,
        )
        try:
            wait_for(base)
            tokens = [buyer_token(base, sms, i) for i in range(args.users)]
            results: dict[str, list[tuple[float, bool]]] = defaultdict(list)
            lock = threading.Lock()
            stop_at = time.monotonic() + args.seconds
            threads = [
                threading.Thread(
                    target=user,
                    args=(base, token, skus, traces, sim, stop_at, results, lock, seed),
                )
                for seed, token in enumerate(tokens)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            report(results, elapsed, args)
            drained = drain(url)
        finally:
            web.terminate()
            worker.terminate()
            web.wait(20)
            worker.wait(20)
        balance(url, stock, drained)


def prepare(url: str) -> tuple[dict[int, int], list[int], list[str]]:
    from sqlalchemy import create_engine, select, text
    from sqlalchemy.orm import Session

    from farmgate.models import Batch
    from farmgate.trace.urls import trace_path

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE sku SET stock = 100000"))
        stock = dict(conn.execute(text("SELECT id, stock FROM sku WHERE is_active")).all())
    with Session(engine) as session:
        traces = [trace_path(b) for b in session.scalars(select(Batch))]
    engine.dispose()
    return stock, sorted(stock), traces


def wait_for(base: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the app did not become ready")


def buyer_token(base: str, sms: SmsSimulatorServer, i: int) -> str:
    phone = f"1371{i:07d}"
    register_buyer(base, sms, phone, "load-test-pw")
    answer = httpx.post(
        base + "/api/v1/auth/token", json={"phone": phone, "password": "load-test-pw"}
    )
    return str(answer.json()["access_token"])


def user(base, token, skus, traces, sim, stop_at, results, lock, seed) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < stop_at:
            roll = rng.random()
            started = time.perf_counter()
            try:
                if roll < 0.40:
                    kind = "browse"
                    path = rng.choice(["/", *[f"/products/{rng.randint(1, 8)}"] * 3])
                    ok = client.get(path).status_code == 200
                elif roll < 0.65:
                    kind = "search"
                    ok = client.get("/search", params={"q": rng.choice(QUERIES)}).status_code == 200
                elif roll < 0.90:
                    kind = "trace"
                    ok = client.get(rng.choice(traces)).status_code == 200
                else:
                    kind = "buy"
                    ok = buy(client, auth, rng.choice(skus), sim)
            except httpx.HTTPError:
                ok = False
            with lock:
                results[kind].append((time.perf_counter() - started, ok))


def buy(client: httpx.Client, auth: dict[str, str], sku_id: int, sim) -> bool:  # type: ignore[no-untyped-def]
    added = client.post("/api/v1/cart/items", json={"sku_id": sku_id, "quantity": 1}, headers=auth)
    order = client.post("/api/v1/checkout", json=PICKUP, headers=auth)
    if added.status_code != 200 or order.status_code != 201:
        return False
    intent = client.post(
        f"/api/v1/orders/{order.json()['id']}/pay", json={"channel": "native"}, headers=auth
    )
    if intent.status_code not in (200, 201):
        return False
    sim.pay(intent.json()["out_trade_no"])
    return True


def report(results, elapsed: float, args) -> None:  # type: ignore[no-untyped-def]
    workers = f"{args.web_workers} uvicorn workers + 1 arq worker"
    print(f"# {args.users} users, {args.seconds:.0f} s, {workers}")
    print(f"{'kind':<8} {'requests':>9} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    total = 0
    for kind in ("browse", "search", "trace", "buy"):
        rows = results.get(kind, [])
        if not rows:
            continue
        times = sorted(t for t, _ in rows)
        p99 = times[max(0, int(len(times) * 0.99) - 1)]
        errors = sum(1 for _, ok in rows if not ok)
        total += len(rows)
        print(
            f"{kind:<8} {len(rows):>9} {len(rows) / elapsed:>7.1f} "
            f"{statistics.median(times) * 1000:>8.0f} {p99 * 1000:>8.0f} "
            f"{errors:>7}"
        )
    print(f"{'all':<8} {total:>9} {total / elapsed:>7.1f}")


def drain(url: str, timeout: float = 120) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM outbox WHERE status IN "
                        "('pending', 'dispatched', 'running', 'retrying') "
                        "AND available_at <= now()"
                    )
                ).scalar()
            if not waiting:
                return True
            time.sleep(0.5)
        return False
    finally:
        engine.dispose()


def balance(url: str, stock: dict[int, int], drained: bool) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        now = dict(conn.execute(text("SELECT id, stock FROM sku WHERE is_active")).all())
        sold = dict(
            conn.execute(
                text(
                    "SELECT l.sku_id, sum(l.quantity) FROM order_line l JOIN orders o "
                    "ON o.id = l.order_id WHERE o.status <> 'cancelled' "
                    "AND o.number NOT LIKE 'DEMO%' GROUP BY l.sku_id"
                )
            ).all()
        )
        statuses = dict(
            conn.execute(
                text("SELECT status, count(*) FROM orders WHERE number NOT LIKE 'DEMO%' GROUP BY 1")
            ).all()
        )
        bad_paid = conn.execute(
            text(
                "SELECT count(*) FROM orders o WHERE o.number NOT LIKE 'DEMO%' "
                "AND o.status = 'paid' AND (SELECT count(*) FROM payment_intent i "
                "WHERE i.order_id = o.id AND i.status = 'paid' AND i.amount_fen = o.total_fen) <> 1"
            )
        ).scalar()
        paid_for_unpaid = conn.execute(
            text(
                "SELECT count(*) FROM payment_intent i JOIN orders o ON o.id = i.order_id "
                "WHERE i.status = 'paid' AND o.status IN ('pending_payment', 'cancelled')"
            )
        ).scalar()
    engine.dispose()
    stock_off = {
        sku: (stock[sku] - now.get(sku, 0), int(sold.get(sku, 0)))
        for sku in stock
        if stock[sku] - now.get(sku, 0) != int(sold.get(sku, 0))
    }
    print(f"# jobs drained: {drained}; orders by status: {statuses}")
    print(f"# SKUs whose stock taken != units ordered: {len(stock_off)} {stock_off or ''}")
    print(f"# paid orders without exactly one paid intent of their amount: {bad_paid}")
    print(f"# paid intents of unpaid or cancelled orders: {paid_for_unpaid}")
    balanced = drained and not stock_off and not bad_paid and not paid_for_unpaid
    print("# BALANCED" if balanced else "# NOT BALANCED")


if __name__ == "__main__":
    main()
