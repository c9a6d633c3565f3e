"""Farmgate's hot public reads beside the minimal same-stack app, interleaved A/B.

    .venv/bin/python bench/hotreads.py [--products 10000] [--duration 8] [--rounds 2]
                                       [--concurrency 32] [--only list,detail,...]

PostgreSQL only. Two fresh databases: one with ``--products`` published products (1-3 SKUs
each, a photo on every other one; bench/catalog.py's data), one with the demo township and its
lots (bench/trace.py's data). For each, farmgate (``farmgate.asgi:app``) and the minimal app
(bench/_minimal_app.py: one SQL statement, Core rows, pydantic-core's JSON writer or the same
Jinja templates) each run as one uvicorn process. Before measuring, a sample of every
endpoint's paths is fetched from both and the bodies compared byte for byte.

Then, per endpoint and round, wrk drives farmgate and the minimal app in turn (the order
alternates between rounds, so a burst of other work on this shared machine hits both alike).
Each row prints req/s and the server process's CPU time per request (user + system, from
/proc, divided by the requests wrk completed) for both, and their ratios. "warm" rows send
``If-None-Match`` with the page's ETag (a browser or shared cache revalidating: 304s).
Farmgate's statements per request are counted in process (SQLAlchemy's cursor events).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, event, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from catalog import fresh_pg, list_paths, seed, serve, stop  # noqa: E402
from loadgen import drive  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def add_photos(url: str) -> None:
    """A photo row on every other product (the files are not needed: only URLs are shown)."""
    from farmgate.models import Product, ProductPhoto

    engine = create_engine(url)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Product.id).order_by(Product.id)))[::2]
        conn.execute(
            insert(ProductPhoto),
            [
                {
                    "product_id": pid,
                    "position": 0,
                    "storage_key": f"products/{pid}/bench",
                    "width": 1600,
                    "height": 1200,
                    "widths": "320,640,1280",
                    "created_at": __import__("farmgate.db").db.utcnow(),
                }
                for pid in ids
            ],
        )
    engine.dispose()


def statements_per_request(url: str, paths: list[str]) -> float:
    """Farmgate's SQL statements per request over ``paths``, in process (TestClient)."""
    from fastapi.testclient import TestClient

    from farmgate import db
    from farmgate.app import create_app
    from farmgate.config import settings

    settings.database_url = url
    engine = db.make_engine(url)
    db.set_engine(engine)
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    with TestClient(create_app(run_jobs=False)) as client:
        for path in paths[:5]:  # warm caches (the trace page's story) first
            client.get(path)
        event.listen(engine, "before_cursor_execute", counted)
        for path in paths:
            assert client.get(path).status_code == 200, path
        event.remove(engine, "before_cursor_execute", counted)
    engine.dispose()
    return count / len(paths)


def compare(a: str, b: str, paths: list[str]) -> tuple[int, list[str]]:
    """How many of ``paths`` both servers answer with the same bytes; the first differences."""
    same, diffs = 0, []
    with httpx.Client() as client:
        for path in paths:
            left, right = client.get(a + path), client.get(b + path)
            if left.status_code == right.status_code == 200 and left.content == right.content:
                same += 1
            elif len(diffs) < 3:
                at = next(
                    (
                        i
                        for i, (x, y) in enumerate(zip(left.content, right.content, strict=False))
                        if x != y
                    ),
                    min(len(left.content), len(right.content)),
                )
                diffs.append(
                    f"{path}: {left.status_code}/{right.status_code} at byte {at}: "
                    f"{left.content[max(0, at - 60) : at + 60]!r} vs "
                    f"{right.content[max(0, at - 60) : at + 60]!r}"
                )
    return same, diffs


def etags(base: str, paths: list[str]) -> list[str]:
    with httpx.Client() as client:
        tags = [client.get(base + p).headers.get("etag", "") for p in paths]
        sample = client.get(base + paths[0], headers={"If-None-Match": tags[0]})
    assert all(tags) and sample.status_code == 304, (tags[:2], sample.status_code)
    return tags


class Pair:
    """Farmgate and the minimal app on one database, measured in turn."""

    def __init__(self, url: str, load: dict[str, float], rounds: int) -> None:
        env = {
            "FARMGATE_DATABASE_URL": url,
            "FARMGATE_MEDIA_DIR": tempfile.mkdtemp(),
        }
        self.load, self.rounds = load, rounds
        self.servers = {
            "farmgate": serve("farmgate.asgi:app", env),
            "minimal": serve("_minimal_app:app", env, probe="/openapi.json"),
        }

    def base(self, name: str) -> str:
        return self.servers[name][1]

    def close(self) -> None:
        for proc, _ in self.servers.values():
            stop(proc)

    def measure(self, label: str, paths: list[str], tags: list[str] | None = None) -> None:
        totals: dict[str, list[float]] = {name: [0.0, 0.0, 0.0] for name in self.servers}
        for name in self.servers:  # warm up both (connections, template and story caches)
            drive(self.base(name), paths, concurrency=8, duration=2, if_none_match=tags)
        for r in range(self.rounds):
            order = list(self.servers) if r % 2 == 0 else list(self.servers)[::-1]
            for name in order:
                proc, base = self.servers[name]
                cpu0 = cpu_seconds(proc.pid)
                result = drive(base, paths, if_none_match=tags, **self.load)  # type: ignore[arg-type]
                cpu = cpu_seconds(proc.pid) - cpu0
                totals[name][0] += result.requests
                totals[name][1] += cpu
                totals[name][2] += self.load["duration"]
                if result.errors:
                    print(f"#   {label} {name}: {result.errors} errors", flush=True)
        fg, mini = totals["farmgate"], totals["minimal"]
        fg_rps, mini_rps = fg[0] / fg[2], mini[0] / mini[2]
        fg_ms, mini_ms = 1000 * fg[1] / max(fg[0], 1), 1000 * mini[1] / max(mini[0], 1)
        load1 = os.getloadavg()[0]
        print(
            f"{label:<22} {fg_rps:>8.0f} {mini_rps:>8.0f} {fg_rps / mini_rps:>6.2f} "
            f"{fg_ms:>8.2f} {mini_ms:>8.2f} {mini_ms / fg_ms:>6.2f} {load1:>6.1f}",
            flush=True,
        )


HEADER = (
    f"{'endpoint':<22} {'fg r/s':>8} {'min r/s':>8} {'ratio':>6} "
    f"{'fg ms':>8} {'min ms':>8} {'ratio':>6} {'load1':>6}"
)


def catalogue(args: argparse.Namespace, load: dict[str, float], only: set[str]) -> None:
    url = fresh_pg("farmgate_bench_hot")
    product_ids, villages = seed(url, args.products)
    add_photos(url)
    rng = random.Random(7)
    paths: dict[str, list[str]] = {
        "list": list_paths(rng, villages, max(1, len(product_ids) // 20)),
        "detail": [f"/api/v1/products/{rng.choice(product_ids)}" for _ in range(2000)],
        "product page": [f"/products/{rng.choice(product_ids)}" for _ in range(2000)],
    }
    print("# statements per request (farmgate): ", end="", flush=True)
    print(
        ", ".join(
            f"{k} {statements_per_request(url, v[:200]):.1f}" for k, v in paths.items() if k in only
        ),
        flush=True,
    )
    pair = Pair(url, load, args.rounds)
    try:
        for name, ps in paths.items():
            if name not in only:
                continue
            same, diffs = compare(pair.base("farmgate"), pair.base("minimal"), ps[:100])
            print(f"# {name}: {same}/100 sampled answers byte-identical", flush=True)
            for diff in diffs:
                print(f"#   {diff}", flush=True)
        print(HEADER, flush=True)
        for name, ps in paths.items():
            if name in only:
                pair.measure(name, ps)
        for name in ("detail", "product page"):
            if f"{name} warm" in only or "warm" in only:
                sample = paths[name][:200]
                tags = etags(pair.base("farmgate"), sample)
                pair.measure(f"{name} warm (304)", sample, tags)
    finally:
        pair.close()


def trace(args: argparse.Namespace, load: dict[str, float]) -> None:
    import trace as trace_bench  # bench/trace.py

    url = fresh_pg("farmgate_bench_hot_trace")
    lot_paths, _serial, _shipment, _token = trace_bench.prepare(url)
    print(
        f"# statements per request (farmgate): trace page "
        f"{statements_per_request(url, lot_paths * 10):.1f}",
        flush=True,
    )
    pair = Pair(url, load, args.rounds)
    try:
        same, diffs = compare(pair.base("farmgate"), pair.base("minimal"), lot_paths)
        print(f"# trace: {same}/{len(lot_paths)} lot pages byte-identical", flush=True)
        for diff in diffs:
            print(f"#   {diff}", flush=True)
        print(HEADER, flush=True)
        pair.measure("trace page", lot_paths)
    finally:
        pair.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="list,detail,product page,warm,trace")
    args = parser.parse_args()
    only = set(args.only.split(","))
    load = {"concurrency": args.concurrency, "duration": args.duration}
    print(f"# load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    steps: list[Callable[[], None]] = []
    if only - {"trace"}:
        steps.append(lambda: catalogue(args, load, only))
    if "trace" in only:
        steps.append(lambda: trace(args, load))
    for step in steps:
        step()
    print(f"# load average at end: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
