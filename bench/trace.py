"""The trace page under load, and bulk ingest of logger readings, over a real uvicorn.

    .venv/bin/python bench/trace.py [--duration 10] [--concurrency 32] [--readings 1000000]
                                    [--backends sqlite,postgresql]
    .venv/bin/python bench/trace.py --log [--log-events 1000000] [--backends ...]

For each backend: a fresh database with the demo township and its sample lots (plus one lot
with a long history: 40 events and 3,000 readings), one uvicorn process. wrk requests
(a) the lot pages and (b) a per-unit serial's page (which also counts the scan: a write per
request), beside the FastAPI ceiling from bench/_ceiling_app.py. Then the readings: a CSV of
``--readings`` rows uploaded to one shipment in requests of 200,000 rows (the API's limit),
reporting readings/s and the server process's peak resident memory (VmHWM); a second upload of
the same rows measures the idempotent path (every row a duplicate).

``--log``: the transparency log instead (farmgate/translog/). Trace events are bulk-inserted
(with their real chain hashes) into a fresh database; the log integrates the first 100,000
(events/s), then the rest up to ``--log-events``; at that size: proof sizes, in-process
inclusion-proof latency, and the latency of the public inclusion endpoint over uvicorn.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from catalog import fresh_pg, print_ceiling, serve, stop  # noqa: E402
from loadgen import drive  # noqa: E402

CHUNK = 200_000


def prepare(url: str) -> tuple[list[str], str, int, str]:
    """Migrate and seed; returns lot paths, a serial path, a shipment id and a staff token."""
    os.environ["FARMGATE_DATABASE_URL"] = url
    from farmgate import db
    from farmgate.accounts import service as accounts
    from farmgate.coldchain import readings, shipments
    from farmgate.config import settings
    from farmgate.demo.seed import seed
    from farmgate.models import Account, Batch, ColdShipment, Product, Role
    from farmgate.trace import service, urls
    from farmgate.trace.schemas import BatchIn, HarvestIn, StepIn

    settings.database_url = url
    db.set_engine(db.make_engine(url))
    db.upgrade_database()
    with db.session_scope() as session:
        seed(session)
        staff = session.query(Account).filter_by(role=Role.COOPERATIVE).first()
        product = session.query(Product).filter_by(cooperative_id=staff.cooperative_id).first()
        lot = service.create_batch(
            session,
            staff,
            BatchIn(product_id=product.id, lot_code="BENCH-LONG", quantity=Decimal(1), unit="kg"),
        )
        service.record_harvest(
            session, staff, lot, HarvestIn(harvest_date=datetime.now(UTC).date())
        )
        start = datetime.now(UTC) - timedelta(days=10)
        for i in range(39):
            service.record_step(
                session,
                staff,
                lot,
                StepIn(step="storing", at=start + timedelta(hours=i), place=f"冷库 {i}"),
            )
        trip = shipments.create_shipment(
            session, staff, lot.id, shipments.ShipmentIn(device_id="BENCH-HISTORY")
        )
        readings.store_readings(
            session,
            [
                readings.ReadingIn(
                    device_id="BENCH-HISTORY",
                    seq=i,
                    at=trip.created_at - timedelta(hours=20) + timedelta(seconds=20 * i),
                    celsius=4.0,
                )
                for i in range(3000)
            ],
        )
        shipments.refresh(session, trip)
        ingest = shipments.create_shipment(
            session, staff, lot.id, shipments.ShipmentIn(device_id="BENCH-INGEST")
        )
        paths = [urls.trace_path(b) for b in session.query(Batch)]
        serial_lot = session.query(Batch).filter(Batch.serial_count > 0).first()
        serial = urls.trace_path(serial_lot, urls.serials(serial_lot, 1, 1)[0])
        token = accounts.issue_token(session, staff, "api").token
        ingest_id = ingest.id
        assert session.get(ColdShipment, ingest_id) is not None
    db.get_engine().dispose()
    return paths, serial, ingest_id, token


INGEST_T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)


def readings_csv(start: int, count: int) -> bytes:
    """Every 30 s from 12 hours ago (inside the shipment's window, so every reading is
    analysed), 3.0-7.9 °C, with a 50-minute excursion to 9.5 °C every 10,000 readings."""
    lines = ["device_id,seq,at,celsius"]
    lines += [
        f"BENCH-INGEST,{i},{(INGEST_T0 + timedelta(seconds=30 * i)).isoformat()},"
        f"{9.5 if i % 10_000 >= 9_900 else 3 + (i % 50) / 10}"
        for i in range(start, start + count)
    ]
    return "\n".join(lines).encode()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the bench database."""
    if not url.startswith("postgresql"):
        return {}
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as conn:
        pids = [
            row[0]
            for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])
        ]
    return {pid: cpu_seconds(pid) for pid in pids}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ingest(
    base: str, shipment: int, token: str, total: int, pid: int, url: str
) -> tuple[float, float, float, float]:
    """Seconds to upload ``total`` readings, first time and again (all duplicates), and the
    CPU seconds the first pass took in the server process and in PostgreSQL's backends."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    timings = []
    bodies = [readings_csv(s, min(CHUNK, total - s)) for s in range(0, total, CHUNK)]
    cpu: list[float] = []
    for _ in range(2):
        server0, pg0 = cpu_seconds(pid), backend_cpu(url)
        t0 = time.perf_counter()
        added = 0
        for body in bodies:
            r = httpx.post(
                f"{base}/api/v1/shipments/{shipment}/readings",
                content=body,
                headers=headers,
                timeout=600,
            )
            r.raise_for_status()
            added += r.json()["added"]
        timings.append(time.perf_counter() - t0)
        pg1 = backend_cpu(url)
        cpu += [cpu_seconds(pid) - server0, sum(v - pg0.get(k, 0.0) for k, v in pg1.items())]
        print(
            f"#   upload pass: {added} new readings in {timings[-1]:.1f}s "
            f"(CPU s: server {cpu[-2]:.1f}, PostgreSQL {cpu[-1]:.1f}; "
            f"load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return timings[0], timings[1], cpu[0], cpu[1]


LOT_EVENTS = 40  # events per lot in the log bench


def fill_events(url: str, start: int, count: int) -> None:
    """Insert trace events ``start`` .. ``start + count - 1``: lots of 40 steps each."""
    from sqlalchemy import insert

    from farmgate import db
    from farmgate.models import Batch, Product, TraceEvent
    from farmgate.trace import chain

    engine = db.make_engine(url)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as session:
        product = session.query(Product).first()
        assert product is not None
        lots: dict[int, Batch] = {}
        prev: dict[int, str] = {}
        rows: list[dict[str, object]] = []
        for n in range(start, start + count):
            lot_no, seq = divmod(n, LOT_EVENTS)
            if lot_no not in lots:
                code = f"B{lot_no:07d}"
                batch = session.query(Batch).filter_by(lot_code=code).first() or Batch(
                    cooperative_id=product.cooperative_id,
                    product_id=product.id,
                    lot_code=code,
                    gtin=product.gtin or "06970000000019",
                    quantity=1,
                    unit="kg",
                )
                session.add(batch)
                session.flush()
                lots[lot_no] = batch
            batch = lots[lot_no]
            at = t0 + timedelta(minutes=n)
            data = {"place": f"冷库 {seq}", "note": "", "round": n}
            before = prev.get(lot_no, chain.GENESIS)
            h = chain.event_hash(batch, seq + 1, "storing", at, data, before)
            prev[lot_no] = h
            rows.append(
                {
                    "batch_id": batch.id,
                    "seq": seq + 1,
                    "kind": "storing",
                    "event_time": at,
                    "recorded_at": at,
                    "data": data,
                    "prev_hash": before,
                    "hash": h,
                }
            )
            if len(rows) == 20_000:
                session.execute(insert(TraceEvent), rows)
                rows = []
        if rows:
            session.execute(insert(TraceEvent), rows)
        session.commit()
    engine.dispose()


def integrate(url: str) -> tuple[int, float]:
    from farmgate import db
    from farmgate.translog import log

    engine = db.make_engine(url)
    t0 = time.perf_counter()
    with Session(engine) as session:
        added = log.integrate_all(session)
        session.commit()
    engine.dispose()
    return added, time.perf_counter() - t0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def bench_log(backend: str, url: str, total: int) -> dict[str, object]:

    from farmgate import db
    from farmgate.config import settings
    from farmgate.demo.seed import seed
    from farmgate.translog import log

    os.environ["FARMGATE_DATABASE_URL"] = url
    settings.database_url = url
    db.upgrade_database(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        seed(session)
        session.commit()
    with Session(engine) as session:  # the demo's own events first
        log.integrate_all(session)
        session.commit()
    first = min(100_000, total)
    t0 = time.perf_counter()
    fill_events(url, 0, first)
    print(f"# {backend}: {first} trace events inserted in {time.perf_counter() - t0:.1f}s")
    added, seconds = integrate(url)
    rate = added / seconds
    print(f"# {backend}: logged {added} events in {seconds:.1f}s = {rate:.0f} events/s")
    for begin in range(first, total, 100_000):
        fill_events(url, begin, min(100_000, total - begin))
        more, spent = integrate(url)
        print(f"#   +{more} logged in {spent:.1f}s", flush=True)
    return {"append_per_s": rate, **measure_log(backend, url)}


def measure_log(backend: str, url: str) -> dict[str, object]:
    """Proof sizes and latencies on a log already filled (``--log-measure URL`` reruns it)."""
    import random

    from farmgate import db
    from farmgate.translog import log

    engine = db.make_engine(url)
    rng = random.Random(1)
    with Session(engine) as session:
        size = log.size(session)
        head = log.head(session)
        inclusion_ms = []
        proof_hashes = []
        for _ in range(1000):
            index = rng.randrange(size)
            t = time.perf_counter()
            proof = log.inclusion_proof(session, index, size)
            inclusion_ms.append((time.perf_counter() - t) * 1000)
            proof_hashes.append(len(proof))
        consistency_hashes = [
            len(log.consistency_proof(session, rng.randrange(1, size), size)) for _ in range(200)
        ]
    engine.dispose()
    env = {"FARMGATE_DATABASE_URL": url, "FARMGATE_MEDIA_DIR": tempfile.mkdtemp()}
    proc, base = serve("farmgate.asgi:app", env)
    try:
        http_ms = []
        body = 0
        with httpx.Client(base_url=base) as client:
            for _ in range(300):
                t = time.perf_counter()
                r = client.get(f"/api/v1/translog/proof/inclusion?index={rng.randrange(size)}")
                http_ms.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
                body = max(body, len(r.content))
    finally:
        stop(proc)
    return {
        "backend": backend,
        "size": size,
        "inclusion_hashes": max(proof_hashes),
        "consistency_hashes": max(consistency_hashes),
        "inclusion_p50_ms": percentile(inclusion_ms, 0.5),
        "inclusion_p99_ms": percentile(inclusion_ms, 0.99),
        "http_p50_ms": percentile(http_ms, 0.5),
        "http_p99_ms": percentile(http_ms, 0.99),
        "http_bytes": body,
        "head_bytes": len(head.note),
    }


def main_log(backends: list[str], total: int) -> None:
    results = []
    for backend in backends:
        url = (
            f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            if backend == "sqlite"
            else fresh_pg("farmgate_bench_translog")
        )
        results.append(bench_log(backend, url, total))
    print()
    print(
        f"{'backend':<11} {'leaves':>8} {'append/s':>9} {'incl.h':>6} {'cons.h':>6} "
        f"{'proof p50/p99 ms':>17} {'HTTP p50/p99 ms':>16} {'bytes':>6}"
    )
    for r in results:
        print(
            f"{r['backend']:<11} {r['size']:>8} {r['append_per_s']:>9.0f} "
            f"{r['inclusion_hashes']:>6} {r['consistency_hashes']:>6} "
            f"{r['inclusion_p50_ms']:>8.2f}/{r['inclusion_p99_ms']:<8.2f} "
            f"{r['http_p50_ms']:>7.2f}/{r['http_p99_ms']:<8.2f} {r['http_bytes']:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--ingest-only", action="store_true", help="only the readings upload")
    parser.add_argument("--pg-db", default="farmgate_bench_trace", help="scratch database name")
    parser.add_argument("--log", action="store_true", help="bench the transparency log")
    parser.add_argument("--log-events", type=int, default=1_000_000)
    parser.add_argument("--log-measure", metavar="URL", help="only measure proofs on this db")
    args = parser.parse_args()
    if args.log_measure:
        print(measure_log(args.log_measure.split(":")[0], args.log_measure), flush=True)
        return
    if args.log:
        main_log(args.backends.split(","), args.log_events)
        return
    load = {"concurrency": args.concurrency, "duration": args.duration}
    if not args.ingest_only:
        print_ceiling(load)
    ingests = []
    for backend in args.backends.split(","):
        url = (
            f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            if backend == "sqlite"
            else fresh_pg(args.pg_db)
        )
        paths, serial, shipment, token = prepare(url)
        env = {"FARMGATE_DATABASE_URL": url, "FARMGATE_MEDIA_DIR": tempfile.mkdtemp()}
        proc, base = serve("farmgate.asgi:app", env)
        try:
            page = httpx.get(base + paths[0], timeout=120)
            print(f"# {backend}: lot page {len(page.content)} bytes, status {page.status_code}")
            if not args.ingest_only:
                print(drive(base, paths, **load).row(backend, "trace lot"), flush=True)
                print(drive(base, [serial], **load).row(backend, "trace serial"), flush=True)
            first, again, server_cpu, pg_cpu = ingest(
                base, shipment, token, args.readings, proc.pid, url
            )
            ingests.append(
                (backend, args.readings, first, again, server_cpu, pg_cpu, peak_rss_mb(proc.pid))
            )
        finally:
            stop(proc)
    print()
    print(
        f"{'backend':<12} {'readings':>9} {'new/s':>9} {'again/s':>9} {'srv CPU s':>9} "
        f"{'PG CPU s':>8} {'new/CPU s':>9} {'peak MB':>8}"
    )
    for backend, n, first, again, server_cpu, pg_cpu, peak in ingests:
        print(
            f"{backend:<12} {n:>9} {n / first:>9.0f} {n / again:>9.0f} {server_cpu:>9.1f} "
            f"{pg_cpu:>8.1f} {n / (server_cpu + pg_cpu):>9.0f} {peak:>8.0f}"
        )


if __name__ == "__main__":
    main()
