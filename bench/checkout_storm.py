"""Many guests check out the last units of one SKU at the same moment, over real HTTP.

    .venv/bin/python bench/checkout_storm.py [--buyers 200] [--stock 10] [--threads 40]
        [--database-url URL ...]   (default: a fresh SQLite file and a fresh PostgreSQL database)

For each database: the demo township, the stock of its first SKU set to --stock, one guest
cart per buyer holding one unit, then one uvicorn process (rate limits off: every buyer comes
from 127.0.0.1). All checkouts are sent at once from two HTTP clients while a third client
keeps loading a product page. Prints orders, "sold out" answers, other answers, 5xx, p50/p99
of the checkouts and the slowest product page during the storm. tests/test_checkout_storm.py
runs the same storm and asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pg import fresh_pg  # noqa: E402
from farmgate.simulation import free_port  # noqa: E402

ADDRESS = {
    "recipient": "压测",
    "phone": "13912345678",
    "province": "湖南省",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "village": "高坪村",
    "address_detail": "1组1号",
    "delivery_method": "courier",
}


@dataclass
class Storm:
    answers: list[tuple[int, Any, float]] = field(default_factory=list)  # status, body, s
    pages: list[float] = field(default_factory=list)  # product page seconds meanwhile
    page_errors: int = 0

    def count(self, status: int) -> int:
        return sum(1 for s, _, _ in self.answers if s == status)

    @property
    def sold_out(self) -> int:
        return sum(
            1
            for s, body, _ in self.answers
            if s == 409 and isinstance(body, dict) and body["error"]["code"] == "out_of_stock"
        )

    @property
    def server_errors(self) -> int:
        return sum(1 for s, _, _ in self.answers if s >= 500)

    def percentile(self, p: float) -> float:
        times = sorted(t for _, _, t in self.answers)
        return times[max(0, int(len(times) * p) - 1)]


async def storm(base: str, product_id: int, cart_tokens: list[str]) -> Storm:
    """Every cart checks out at once (two clients) while a third client loads a product page."""
    limits = httpx.Limits(max_connections=len(cart_tokens), max_keepalive_connections=None)
    buyers = [httpx.AsyncClient(base_url=base, limits=limits, timeout=30) for _ in range(2)]
    browser = httpx.AsyncClient(base_url=base, timeout=30)
    result = Storm()
    done = asyncio.Event()

    async def checkout(client: httpx.AsyncClient, token: str) -> None:
        start = time.perf_counter()
        try:
            answer = await client.post(
                "/api/v1/checkout", json=ADDRESS, headers={"X-Cart-Token": token}
            )
        except httpx.HTTPError as exc:
            result.answers.append((599, repr(exc), time.perf_counter() - start))
            return
        try:
            body = answer.json()
        except ValueError:
            body = answer.text[:200]
        result.answers.append((answer.status_code, body, time.perf_counter() - start))

    async def browse() -> None:
        while not done.is_set():
            start = time.perf_counter()
            try:
                page = await browser.get(f"/products/{product_id}")
                ok = page.status_code == 200
            except httpx.HTTPError:
                ok = False
            result.pages.append(time.perf_counter() - start)
            result.page_errors += not ok
            await asyncio.sleep(0.2)  # a person clicking about, not a second load generator

    try:
        # Warm up, as a running site is: templates compiled, routes resolved, connections open.
        await browser.get(f"/products/{product_id}")
        await asyncio.gather(*(c.get("/api/v1/cart") for c in buyers))
        watcher = asyncio.create_task(browse())
        await asyncio.sleep(0.05)
        await asyncio.gather(
            *(checkout(buyers[i % 2], token) for i, token in enumerate(cart_tokens))
        )
        done.set()
        await watcher
    finally:
        for client in (*buyers, browser):
            await client.aclose()
    return result


@contextmanager
def serve(database_url: str, media_dir: str, **settings: str) -> Iterator[str]:
    """One uvicorn process (its own interpreter, so the load generator does not share its GIL)."""
    port = free_port()
    env = {
        **os.environ,
        "FARMGATE_DATABASE_URL": database_url,
        "FARMGATE_MEDIA_DIR": media_dir,
        "FARMGATE_RATE_LIMITS": "false",  # every buyer comes from 127.0.0.1
        # Every guest gives one phone and address: the race is measured, not the guest hold
        # limits (tests/test_guest_limits.py).
        "FARMGATE_GUEST_MAX_UNPAID_ORDERS": "100000",
        "FARMGATE_GUEST_MAX_UNITS_PER_SKU": "100000",
        "FARMGATE_GUEST_MAX_STOCK_SHARE": "1.0",
        "FARMGATE_EMBEDDED_JOBS": "false",
        **{f"FARMGATE_{key.upper()}": value for key, value in settings.items()},
    }
    env.pop("FARMGATE_REDIS_URL", None)
    log = open(Path(media_dir).parent / "storm-server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "farmgate.asgi:app", "--port", str(port)]  # noqa: RUF005
        + ["--log-level", "warning", "--no-access-log"],
        env=env,
        cwd=ROOT,
        stderr=log,  # one line per request: kept out of the figures
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError("uvicorn exited")
            try:
                httpx.get(base + "/api/v1/categories", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise RuntimeError("uvicorn did not start")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # stuck requests keep a graceful shutdown waiting
            proc.kill()
            proc.wait(5)
        log.close()


def guest_carts(sku_id: int, count: int) -> list[str]:
    """``count`` guest carts holding one unit of the SKU, on the app's database; their tokens."""
    from farmgate.db import session_scope
    from farmgate.orders import cart as carts

    tokens = []
    with session_scope() as session:
        for _ in range(count):
            ref = carts.get_cart(session, None, None, create=True)
            assert ref is not None and ref.new_token is not None
            carts.set_quantity(session, ref.cart, sku_id, 1)
            tokens.append(ref.new_token)
    return tokens


def fresh_database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/storm.db"
    return fresh_pg("farmgate_bench_storm")


def run(url: str, buyers: int, stock: int, threads: int) -> None:
    from farmgate import db
    from farmgate.models import Sku

    media = tempfile.mkdtemp()
    env = {**os.environ, "FARMGATE_DATABASE_URL": url, "FARMGATE_MEDIA_DIR": media}
    subprocess.run(
        [sys.executable, "-m", "farmgate.cli", "demo", "--no-serve"],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    db.set_engine(db.make_engine(url))
    with db.session_scope() as session:
        sku = session.scalars(select(Sku).order_by(Sku.id)).first()
        assert sku is not None
        sku.stock = stock
        sku_id, product_id = sku.id, sku.product_id
    tokens = guest_carts(sku_id, buyers)  # type: ignore[arg-type]
    with serve(url, media, web_threads=str(threads)) as base:
        t0 = time.perf_counter()
        result = asyncio.run(storm(base, product_id, tokens))
        elapsed = time.perf_counter() - t0
    db.get_engine().dispose()
    kind = url.split(":", 1)[0].split("+", 1)[0]
    other = len(result.answers) - result.count(201) - result.sold_out - result.server_errors
    print(
        f"{kind:<11} {buyers:>6} {stock:>6} {result.count(201):>7} {result.sold_out:>9} "
        f"{other:>6} {result.server_errors:>4} {result.percentile(0.5):>7.2f} "
        f"{result.percentile(0.99):>7.2f} {max(result.pages):>8.2f} {len(result.pages):>6} "
        f"{elapsed:>6.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--stock", type=int, default=10)
    parser.add_argument("--threads", type=int, default=40, help="FARMGATE_WEB_THREADS")
    parser.add_argument("--database-url", action="append", help="default: SQLite and PostgreSQL")
    args = parser.parse_args()
    print(
        f"{'database':<11} {'buyers':>6} {'stock':>6} {'orders':>7} {'sold out':>9} "
        f"{'other':>6} {'5xx':>4} {'p50 s':>7} {'p99 s':>7} {'page max':>8} {'pages':>6} "
        f"{'wall s':>6}"
    )
    for url in args.database_url or [fresh_database("sqlite"), fresh_database("postgresql")]:
        run(url, args.buyers, args.stock, args.threads)


if __name__ == "__main__":
    main()
