"""Public catalogue throughput: list and detail endpoints over a real uvicorn on 127.0.0.1.

    .venv/bin/python bench/catalog.py [--products 10000] [--duration 10] [--concurrency 32]

Seeds N published products (1-3 SKUs each) into a fresh SQLite file and a fresh PostgreSQL
database, serves each with one uvicorn process, and drives it with wrk (bench/loadgen.py); prints
requests/s and p50/p99 latency beside the same figures for a FastAPI endpoint returning a
constant (bench/_ceiling_app.py: the framework's ceiling here). Load generator, server and
database share the machine's 2 cores, so the figures are for comparison, not capacity.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from loadgen import drive  # noqa: E402

from bench._pg import fresh_pg  # noqa: E402
from farmgate import db  # noqa: E402
from farmgate.demo.seed import TOWNSHIP, VILLAGES  # noqa: E402
from farmgate.models import CATEGORIES, Cooperative, Product, Sku, Township, Village  # noqa: E402
from farmgate.validators import uscc_check_char  # noqa: E402

NAMES = [
    "干红辣椒",
    "剁辣椒",
    "辣椒粉",
    "稻花鱼",
    "稻花香米",
    "土鸡蛋",
    "山茶油",
    "腊肉",
    "红薯粉",
    "蜂蜜",
    "黄精",
    "茶叶",
]
SPECS = ["250g", "500g 袋装", "1kg 袋装", "礼盒"]


def seed(url: str, n: int) -> tuple[list[int], list[int]]:
    """Bulk-insert a township, 10 villages, 5 cooperatives and ``n`` published products."""
    db.upgrade_database(url)
    engine = db.make_engine(url)
    rng = random.Random(42)
    now = db.utcnow()
    with engine.begin() as conn:
        township_id = conn.execute(
            insert(Township).values(**TOWNSHIP).returning(Township.id)
        ).scalar_one()
        conn.execute(insert(Village), [{"township_id": township_id, "name": v} for v in VILLAGES])
        villages = list(conn.scalars(select(Village.id)))
        coops = []
        for i in range(5):
            body = f"93431223MA4B{i:05d}"
            coops.append(
                {
                    "township_id": township_id,
                    "village_id": villages[i],
                    "name": f"基准合作社{i}",
                    "uscc": body + uscc_check_char(body),
                    "contact_name": "基准",
                    "contact_phone": "13800000000",
                    "story": "",
                    "status": "approved",
                    "bank_account_name": "",
                    "bank_name": "",
                    "bank_account_no": "",
                    "created_at": now,
                    "approved_at": now,
                }
            )
        conn.execute(insert(Cooperative), coops)
        coop_ids = list(conn.scalars(select(Cooperative.id)))
        categories = list(CATEGORIES)
        for start in range(0, n, 2000):
            batch = [
                {
                    "cooperative_id": rng.choice(coop_ids),
                    "village_id": rng.choice(villages),
                    "name": f"{rng.choice(NAMES)} {i}",
                    "category": rng.choice(categories),
                    "description": "基准测试商品",
                    "unit": "斤",
                    "shelf_life_days": 180,
                    "storage_class": rng.choice(["ambient", "chilled"]),
                    "status": "published",
                    "review_note": "",
                    "created_at": now,
                    "updated_at": now,
                    "published_at": now,
                }
                for i in range(start, min(n, start + 2000))
            ]
            ids = conn.execute(insert(Product).returning(Product.id), batch).scalars().all()
            skus = [
                {
                    "product_id": pid,
                    "spec": spec,
                    "price_fen": rng.randint(500, 30000),
                    "stock": rng.randint(0, 200),
                    "weight_g": 500,
                    "is_active": True,
                    "created_at": now,
                }
                for pid in ids
                for spec in rng.sample(SPECS, rng.randint(1, 3))
            ]
            conn.execute(insert(Sku), skus)
        product_ids = list(conn.scalars(select(Product.id)))
    engine.dispose()
    return product_ids, villages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    app: str, env: dict[str, str], *, factory: bool = False, probe: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """One uvicorn worker serving ``app`` (``module:attr``, or a factory) on a free port."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # open while the server runs
        prefix=app.split(":")[0].replace(".", "-") + "-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            *(["--factory"] if factory else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        # The server's own log (a line per request) goes to a file, not this terminal.
        stdout=log,
        stderr=subprocess.STDOUT,
        # Load from one address is the point here, not something to throttle.
        env={
            **os.environ,
            "FARMGATE_RATE_LIMITS": "false",
            **env,
            "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
        },
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if probe is None:
                probe = "/openapi.json" if "ceiling" in app else "/api/v1/categories"
            httpx.get(base + probe, timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def print_ceiling(load: dict[str, float]) -> None:
    """The table's header, then FastAPI's ceiling here: an endpoint returning a constant."""
    print(
        f"{'backend':<14} {'scenario':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    proc, base = serve("_ceiling_app:app", {})
    try:
        print(drive(base, ["/constant"], **load).row("fastapi", "constant"), flush=True)
    finally:
        stop(proc)


def list_paths(rng: random.Random, villages: list[int], pages: int, n: int = 2000) -> list[str]:
    """Random list requests: pages, and some village / category / price filters."""
    paths = []
    for _ in range(n):
        path = f"/api/v1/products?page={rng.randint(1, min(pages, 50))}&page_size=20"
        roll = rng.random()
        if roll < 0.2:
            path += f"&village_id={rng.choice(villages)}"
        elif roll < 0.35:
            path += "&category=dried_goods&sort=price_asc"
        elif roll < 0.45:
            path += "&price_min_fen=1000&price_max_fen=5000"
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    load = {"concurrency": args.concurrency, "duration": args.duration}
    print_ceiling(load)

    for backend in args.backends.split(","):
        url = (
            f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            if backend == "sqlite"
            else fresh_pg("farmgate_bench")
        )
        t0 = time.perf_counter()
        product_ids, villages = seed(url, args.products)
        print(
            f"# {backend}: seeded {len(product_ids)} products in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        env = {"FARMGATE_DATABASE_URL": url, "FARMGATE_MEDIA_DIR": tempfile.mkdtemp()}
        proc, base = serve("farmgate.asgi:app", env)
        rng = random.Random(7)
        scenarios = {
            "list": list_paths(rng, villages, max(1, len(product_ids) // 20)),
            "detail": [f"/api/v1/products/{rng.choice(product_ids)}" for _ in range(2000)],
        }
        try:
            for scenario, paths in scenarios.items():
                print(drive(base, paths, **load).row(backend, scenario), flush=True)
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
