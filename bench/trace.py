"""The trace page under load, and bulk ingest of logger readings, over a real uvicorn.

    .venv/bin/python bench/trace.py [--duration 10] [--concurrency 32] [--readings 1000000]
                                    [--backends sqlite,postgresql]

For each backend: a fresh database with the demo township and its sample lots (plus one lot
with a long history: 40 events and 3,000 readings), one uvicorn process. wrk requests
(a) the lot pages and (b) a per-unit serial's page (which also counts the scan: a write per
request), beside the FastAPI ceiling from bench/_ceiling_app.py. Then the readings: a CSV of
``--readings`` rows uploaded to one shipment in requests of 200,000 rows (the API's limit),
reporting readings/s and the server process's peak resident memory (VmHWM); a second upload of
the same rows measures the idempotent path (every row a duplicate).
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


def readings_csv(start: int, count: int) -> bytes:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    lines = ["device_id,seq,at,celsius"]
    lines += [
        f"BENCH-INGEST,{i},{(t0 + timedelta(seconds=30 * i)).isoformat()},{3 + (i % 50) / 10}"
        for i in range(start, start + count)
    ]
    return "\n".join(lines).encode()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ingest(base: str, shipment: int, token: str, total: int) -> tuple[float, float]:
    """Seconds to upload ``total`` readings, first time and again (all duplicates)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    timings = []
    bodies = [readings_csv(s, min(CHUNK, total - s)) for s in range(0, total, CHUNK)]
    for _ in range(2):
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
        print(f"#   upload pass: {added} new readings in {timings[-1]:.1f}s", flush=True)
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    load = {"concurrency": args.concurrency, "duration": args.duration}
    print_ceiling(load)
    ingests = []
    for backend in args.backends.split(","):
        url = (
            f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            if backend == "sqlite"
            else fresh_pg("farmgate_bench_trace")
        )
        paths, serial, shipment, token = prepare(url)
        env = {"FARMGATE_DATABASE_URL": url, "FARMGATE_MEDIA_DIR": tempfile.mkdtemp()}
        proc, base = serve("farmgate.asgi:app", env)
        try:
            page = httpx.get(base + paths[0])
            print(f"# {backend}: lot page {len(page.content)} bytes, status {page.status_code}")
            print(drive(base, paths, **load).row(backend, "trace lot"), flush=True)
            print(drive(base, [serial], **load).row(backend, "trace serial"), flush=True)
            first, again = ingest(base, shipment, token, args.readings)
            ingests.append((backend, args.readings, first, again, peak_rss_mb(proc.pid)))
        finally:
            stop(proc)
    print()
    print(f"{'backend':<12} {'readings':>9} {'new/s':>9} {'again/s':>9} {'peak MB':>8}")
    for backend, n, first, again, peak in ingests:
        print(f"{backend:<12} {n:>9} {n / first:>9.0f} {n / again:>9.0f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
