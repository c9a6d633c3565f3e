"""The least each piece of a paid order can cost on this stack and this machine.

    PYTHONPATH=$PWD .venv/bin/python bench/floors.py [--times 3000]

bench/checkout.py says what a paid order costs the server; this says what its pieces cost
when nothing but the piece runs, so the difference can be told apart: what the stack costs
at the least, and what farmgate's own code (its ORM objects, domain rules, middleware) adds.
PostgreSQL, a fresh database with the demo township (``farmgate demo --no-serve``).

In this process, the CPU time (``time.thread_time``) of, each ``--times`` times:
- one SELECT of an order (21 columns): psycopg alone; SQLAlchemy Core; the ORM building an
  ``Order`` from it; each inside a transaction already open;
- a unit of work around such a SELECT: Core (a pooled connection, BEGIN, COMMIT) and the
  ORM's (a session, ``Session.get``, COMMIT);
- an UPDATE of that order: a Core statement, against a change written by the ORM's flush;
- one HTTP call out (a POST to the SMS simulator, the answer's JSON read) through httpx,
  requests, urllib3 and the standard library's http.client.

Then, in a uvicorn process each, the server's CPU (from /proc) per request for one client
asking one after another: FastAPI's sync endpoint alone (``bench/_ceiling_app.py``) and
farmgate's ``/healthz`` (also a sync endpoint, through all of farmgate's middleware).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import requests
import urllib3
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from catalog import serve, stop  # noqa: E402
from checkout import cpu_seconds  # noqa: E402

from bench._pg import fresh_pg  # noqa: E402


def per_call(times: int, call: Callable[[], Any]) -> float:
    """Microseconds of this thread's CPU per ``call()``, after a warm-up."""
    for _ in range(min(100, times)):
        call()
    start = time.thread_time()
    for _ in range(times):
        call()
    return (time.thread_time() - start) * 1e6 / times


def show(label: str, micros: float) -> None:
    print(f"  {label:<62} {micros:>7.0f} us", flush=True)


def database(url: str, times: int) -> None:
    from farmgate.db import make_engine
    from farmgate.models import Order

    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    table = Order.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        order_id = conn.execute(select(table.c.id).limit(1)).scalar_one()
    by_id = select(table).where(table.c.id == order_id)
    entity = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)

    print("one SELECT of an order, in a transaction already open:")
    raw = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
    cursor = raw.cursor()
    sql = "SELECT * FROM orders WHERE id = %s"
    show("psycopg", per_call(times, lambda: cursor.execute(sql, (order_id,)).fetchall()))
    raw.close()
    with engine.connect() as conn, conn.begin():
        show("SQLAlchemy Core (rows)", per_call(times, lambda: conn.execute(by_id).all()))
    with factory() as session, session.begin():
        show(
            "the ORM (an Order object)",
            per_call(times, lambda: session.execute(entity).scalars().all()),
        )

    print("a unit of work around it:")

    def core_unit() -> None:
        with engine.begin() as conn:
            conn.execute(by_id).all()

    def orm_unit() -> None:
        with factory() as session, session.begin():
            session.get(Order, order_id, populate_existing=True)

    show("Core: pooled connection, BEGIN, SELECT, COMMIT", per_call(times, core_unit))
    show("ORM: session, BEGIN, Session.get, COMMIT", per_call(times, orm_unit))

    print("and an UPDATE of the order in it:")
    notes = iter(range(10**9))
    note = update(table).where(table.c.id == order_id).values(note=bindparam("note"))

    def core_update() -> None:
        with engine.begin() as conn:
            conn.execute(by_id).all()
            conn.execute(note, {"note": str(next(notes))})

    def orm_update() -> None:
        with factory() as session, session.begin():
            order = session.get(Order, order_id, populate_existing=True)
            assert order is not None
            order.note = str(next(notes))

    show("Core: the unit above and an UPDATE statement", per_call(times, core_update))
    show("ORM: the unit above and the change flushed", per_call(times, orm_update))
    engine.dispose()


def http_calls(times: int) -> None:
    from farmgate.sms.simulator import start_sms_simulator

    print("one HTTP call out (POST, JSON answer read), to the SMS simulator:")
    body = json.dumps({"PhoneNumberSet": ["+8613700000000"], "TemplateId": "1"}).encode()
    headers = {"Content-Type": "application/json", "X-TC-Action": "SendSms"}
    with start_sms_simulator() as sim:
        url = sim.url + "/"
        with httpx.Client() as client:
            show(
                "httpx (farmgate's courier client)",
                per_call(times, lambda: client.post(url, content=body, headers=headers).json()),
            )
        with requests.Session() as session:
            session.trust_env = False  # the floor: no proxy settings looked up per call
            show(
                "requests (WeChat Pay v3, the WeChat API)",
                per_call(times, lambda: session.post(url, data=body, headers=headers).json()),
            )
        pool = urllib3.PoolManager()
        show(
            "urllib3 (farmgate.outbound: WeChat Pay v2, SMS)",
            per_call(
                times,
                lambda: json.loads(pool.request("POST", url, body=body, headers=headers).data),
            ),
        )
        conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)

        def plain() -> Any:
            conn.request("POST", "/", body=body, headers=headers)
            return json.loads(conn.getresponse().read())

        show("http.client", per_call(times, plain))
        conn.close()


def request(app: str, env: dict[str, str], path: str, times: int, probe: str | None) -> float:
    """The server's CPU per GET ``path``, one client asking one after another."""
    proc, base = serve(app, env, probe=probe)
    try:
        with httpx.Client(base_url=base) as client:
            for _ in range(200):
                client.get(path).raise_for_status()
            before = cpu_seconds(proc.pid)
            for _ in range(times):
                client.get(path).raise_for_status()
            return (cpu_seconds(proc.pid) - before) * 1e6 / times
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=3000)
    args = parser.parse_args()
    url = fresh_pg("farmgate_bench_floors")
    subprocess.run(
        [sys.executable, "-m", "farmgate.cli", "demo", "--no-serve"],
        env={**os.environ, "FARMGATE_DATABASE_URL": url},
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    database(url, args.times)
    http_calls(args.times)
    print("one request, the server's CPU (all threads):")
    show(
        "FastAPI, a sync endpoint alone",
        request("_ceiling_app:app", {}, "/constant", args.times, "/openapi.json"),
    )
    show(
        "farmgate's /healthz, through its middleware",
        request("farmgate.asgi:app", {"FARMGATE_DATABASE_URL": url}, "/healthz", args.times, None),
    )


if __name__ == "__main__":
    main()
