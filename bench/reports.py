"""The township dashboard over two years of sales: 1,000,000 order lines on PostgreSQL.

    .venv/bin/python bench/reports.py [--lines 1000000] [--days 730] [--requests 40]
                                      [--keep] [--skip-seed]

Seeds a fresh PostgreSQL database (``farmgate_bench_reports``) with the demo's township
(10 villages), 30 cooperatives, 300 products and ``--lines`` order lines spread over
``--days`` days (about 2.5 lines an order, 3 % unpaid, 3 % refunded in full or in part,
parcels for every paid courier order, 30,000 cold-chain shipments), written with COPY; then
builds the daily report facts as the jobs would (one day after another) and serves the app
with one uvicorn worker. Prints, per dashboard request (page, JSON, exports) the p50/p99 of
``--requests`` sequential requests from one client, and the database time of the two fact
queries and of the same "sales by village" read live from the order lines instead.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from catalog import fresh_pg, serve, stop  # noqa: E402

DB_NAME = "farmgate_bench_reports"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/" + DB_NAME
PROVINCES = [
    ("湖南省", 36),
    ("广东省", 14),
    ("湖北省", 6),
    ("江西省", 4),
    ("广西壮族自治区", 4),
    ("贵州省", 4),
    ("重庆市", 3),
    ("四川省", 3),
    ("浙江省", 4),
    ("江苏省", 3),
    ("上海市", 3),
    ("北京市", 3),
    ("福建省", 2),
    ("河南省", 2),
    ("山东省", 2),
    ("安徽省", 1),
    ("河北省", 1),
    ("陕西省", 1),
    ("云南省", 1),
    ("天津市", 1),
    ("辽宁省", 1),
    ("海南省", 1),
]
CARRIERS = [("zhongtong", 6), ("youzhengguonei", 3), ("ems", 1)]
CATEGORIES = ["dried_goods", "grain_oil", "meat_eggs", "aquatic", "fruit_veg", "tea_drinks"]


def make_app():  # type: ignore[no-untyped-def]
    """The app with the report routers (uvicorn --factory; until app.py includes them)."""
    from farmgate.api import reports as api
    from farmgate.app import create_app
    from farmgate.storefront import reports_pages

    app = create_app(check_schema=False, run_jobs=False)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/v1/reports/summary" not in paths:
        app.include_router(api.router, prefix="/api/v1")
    if "/township/dashboard" not in paths:
        app.include_router(reports_pages.router)
    return app


def _copy(conn: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed_catalogue(session: Any, rng: random.Random) -> tuple[list[tuple], dict[int, int]]:
    """Township, villages, 30 cooperatives, 300 products with 1-2 SKUs; returns the SKUs."""
    from farmgate.demo.seed import TOWNSHIP, VILLAGES
    from farmgate.models import Cooperative, Product, Sku, Township, Village
    from farmgate.validators import uscc_check_char

    township = Township(**TOWNSHIP)
    session.add(township)
    session.flush()
    villages = [Village(township_id=township.id, name=name) for name in VILLAGES]
    session.add_all(villages)
    session.flush()
    coops = []
    for i in range(30):
        body = f"93431223MA4R{i:05d}"
        coops.append(
            Cooperative(
                township_id=township.id,
                village_id=villages[i % 10].id,
                name=f"基准合作社{i + 1:02d}",
                uscc=body + uscc_check_char(body),
                contact_name="基准",
                contact_phone="13800000000",
                status="approved",
            )
        )
    session.add_all(coops)
    session.flush()
    skus, storage = [], {}
    for i in range(300):
        coop = coops[i % 30]
        village = coop.village_id if rng.random() < 0.9 else rng.choice(villages).id
        chilled = rng.random() < 0.15
        product = Product(
            cooperative_id=coop.id,
            village_id=village,
            name=f"基准商品{i + 1:03d}",
            category=rng.choice(CATEGORIES),
            unit="斤",
            shelf_life_days=180,
            storage_class="chilled" if chilled else "ambient",
            status="published",
        )
        session.add(product)
        session.flush()
        storage[product.id] = coop.id if chilled else 0
        for spec in rng.sample(["500g", "1kg", "礼盒"], rng.randint(1, 2)):
            sku = Sku(
                product_id=product.id, spec=spec, price_fen=rng.randint(800, 20000), weight_g=600
            )
            session.add(sku)
            session.flush()
            skus.append((sku.id, product.id, coop.id, product.name, spec, sku.price_fen))
    return skus, storage


def seed_orders(url: str, lines_wanted: int, days: int) -> tuple[date, date, dict[str, int]]:
    """Orders, fulfilments, lines, parcels, refunds and cold shipments, by COPY."""
    from farmgate import db
    from farmgate.timeutil import LOCAL_TZ

    rng = random.Random(20261129)
    engine = db.make_engine(url)
    with _session(engine) as session:
        skus, chilled = seed_catalogue(session, rng)
        batches = seed_batches(session, chilled)
        session.commit()
    last = datetime.now(LOCAL_TZ).date()
    first = last - timedelta(days=days - 1)
    now = datetime.now(UTC)
    # Busier before the Spring Festival and at harvest; popular products sell far more.
    weights = []
    for i in range(days):
        d = first + timedelta(days=i)
        weights.append(
            1 + 0.8 * (d.month in (1, 12)) + 0.4 * (d.month in (9, 10)) + 0.2 * (d.weekday() >= 5)
        )
    popularity = [1 / (i + 1) ** 0.8 for i in range(len(skus))]
    same_coop: dict[int, list[tuple]] = {}
    for sku in skus:
        same_coop.setdefault(sku[2], []).append(sku)
    rng.shuffle(popularity)
    sizes = []
    total = 0
    while total < lines_wanted:
        k = min(rng.choice((1, 1, 1, 2, 2, 3, 3, 4, 5)), lines_wanted - total)
        sizes.append(k)
        total += k
    order_days = sorted(rng.choices(range(days), weights=weights, k=len(sizes)))
    counts = {"orders": 0, "lines": 0, "fulfilments": 0, "parcels": 0, "refunds": 0}
    raw = engine.raw_connection()
    conn = raw.driver_connection
    order_id = line_id = fulfilment_id = parcel_id = refund_id = 0
    chunk_orders, chunk_f, chunk_l, chunk_p, chunk_i, chunk_r = [], [], [], [], [], []

    def flush() -> None:
        _copy(conn, "orders", ORDER_COLUMNS, chunk_orders)
        _copy(conn, "fulfilment", FULFILMENT_COLUMNS, chunk_f)
        _copy(conn, "order_line", LINE_COLUMNS, chunk_l)
        _copy(conn, "parcel", PARCEL_COLUMNS, chunk_p)
        _copy(conn, "payment_intent", INTENT_COLUMNS, chunk_i)
        _copy(conn, "refund", REFUND_COLUMNS, chunk_r)
        conn.commit()
        for chunk in (chunk_orders, chunk_f, chunk_l, chunk_p, chunk_i, chunk_r):
            chunk.clear()

    for size, day_index in zip(sizes, order_days, strict=True):
        order_id += 1
        day = first + timedelta(days=day_index)
        created = datetime.combine(day, dtime(), LOCAL_TZ) + timedelta(
            seconds=rng.randint(0, 86399)
        )
        if created > now:
            created = now - timedelta(seconds=rng.randint(60, 3600))
        unpaid = rng.random() < 0.03
        paid = None if unpaid else created + timedelta(seconds=rng.randint(20, 900))
        by_coop: dict[int, list[tuple]] = {}
        basket = rng.choices(skus, weights=popularity, k=size)
        for sku in (
            basket[:1]
            + [  # most buyers fill a basket at one cooperative
                rng.choice(same_coop[basket[0][2]]) if rng.random() < 0.7 else other
                for other in basket[1:]
            ]
        ):
            by_coop.setdefault(sku[2], []).append(sku)
        items = 0
        shipping = 1000 * len(by_coop)
        order_lines = []
        for coop, coop_skus in sorted(by_coop.items()):
            fulfilment_id += 1
            coop_items = 0
            for sku_id, product_id, _, name, spec, price in coop_skus:
                line_id += 1
                quantity = rng.choice((1, 1, 1, 2, 2, 3))
                coop_items += quantity * price
                order_lines.append(
                    (
                        line_id,
                        order_id,
                        fulfilment_id,
                        sku_id,
                        product_id,
                        name,
                        spec,
                        "斤",
                        price,
                        quantity,
                        quantity * price,
                        None,
                    )
                )
            items += coop_items
            age = (now - paid).days if paid else 0
            chunk_f.append(
                (
                    fulfilment_id,
                    order_id,
                    coop,
                    "delivered" if paid and age > 5 else "to_pack" if paid else "cancelled",
                    coop_items,
                    1000,
                    None,
                )
            )
            if paid and age > 5:
                parcel_id += 1
                signed = paid + timedelta(hours=rng.uniform(18, 120))
                carrier = rng.choices([c for c, _ in CARRIERS], weights=[w for _, w in CARRIERS])[0]
                chunk_p.append(
                    (
                        parcel_id,
                        fulfilment_id,
                        order_id,
                        carrier,
                        f"BP{parcel_id}",
                        "delivered",
                        "3",
                        "[]",
                        signed,
                        True,
                        False,
                        "s",
                        paid,
                        signed,
                    )
                )
        chunk_l.extend(order_lines)
        counts["lines"] += len(order_lines)
        status = (
            "cancelled"
            if unpaid
            else "completed"
            if (now - paid).days > 10
            else rng.choice(["paid", "fulfilling", "shipped", "delivered"])
        )
        total_fen = items + shipping
        if paid and rng.random() < 0.03:
            refunded = total_fen if rng.random() < 0.6 else rng.randint(100, total_fen - 1)
            done = paid + timedelta(days=rng.uniform(0.5, 7))
            if done < now:
                refund_id += 1
                chunk_i.append(
                    (
                        refund_id,
                        order_id,
                        "wechat_v2",
                        "native",
                        f"B{order_id:014d}N",
                        total_fen,
                        "CNY",
                        "paid",
                        "",
                        "{}",
                        f"T{order_id}",
                        paid,
                        paid,
                    )
                )
                chunk_r.append(
                    (
                        refund_id,
                        order_id,
                        refund_id,
                        f"B{order_id:014d}R1",
                        refunded,
                        rng.choice(["质量问题", "发错货", "不想要了", "物流太慢"]),
                        "succeeded",
                        f"RF{refund_id}",
                        done,
                        done,
                    )
                )
                if refunded == total_fen:
                    status = "refunded"
        chunk_orders.append(
            (
                order_id,
                f"B{order_id:014d}",
                None,
                status,
                "买家",
                "13900000000",
                rng.choices([p for p, _ in PROVINCES], weights=[w for _, w in PROVINCES])[0],
                "某市",
                "某县",
                "某乡",
                "",
                "某街 1 号",
                "courier",
                "",
                items,
                shipping,
                total_fen,
                created,
                created + timedelta(minutes=30),
                paid,
                None,
            )
        )
        if len(chunk_orders) >= 20_000:
            flush()
    flush()
    counts.update(orders=order_id, fulfilments=fulfilment_id, parcels=parcel_id, refunds=refund_id)
    counts["shipments"] = seed_cold_chain(conn, rng, batches, first, days, now)
    with conn.cursor() as cur:
        for table in ORDER_TABLES:
            top = f"(SELECT max(id) FROM {table})"
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})")
        cur.execute("ANALYZE")
    conn.commit()
    raw.close()
    engine.dispose()
    return first, last, counts


def _session(engine: Any) -> Any:
    from sqlalchemy.orm import Session

    return Session(engine)


def seed_batches(session: Any, chilled: dict[int, int]) -> list[tuple[int, int]]:
    """Ten lots of every chilled product: (batch id, cooperative id)."""
    from farmgate.models import Batch

    out = []
    for product, coop in chilled.items():
        for i in range(10 if coop else 0):
            batch = Batch(
                cooperative_id=coop,
                product_id=product,
                lot_code=f"BL{product:04d}{i:02d}",
                gtin="06970000000017",
                quantity=100,
                unit="kg",
            )
            session.add(batch)
            session.flush()
            out.append((batch.id, coop))
    return out


def seed_cold_chain(
    conn: Any,
    rng: random.Random,
    batches: list[tuple[int, int]],
    first: date,
    days: int,
    now: datetime,
) -> int:
    """30,000 chilled or frozen shipments of those lots, 4 % with an excursion."""
    shipments = []
    start = datetime.combine(first, dtime(), UTC)
    for i in range(30_000):
        batch, coop = rng.choice(batches)
        created = min(now, start + timedelta(seconds=rng.randint(0, days * 86400 - 1)))
        kind = rng.choice(["chilled", "chilled", "frozen"])
        shipments.append(
            (i + 1, batch, coop, kind, "delivered", "{}", rng.random() < 0.04, created)
        )
    columns = ["id", "batch_id", "cooperative_id", "storage_class", "status", "analysis"]
    _copy(conn, "cold_shipment", [*columns, "breached", "created_at"], shipments)
    conn.commit()
    return len(shipments)


ORDER_TABLES = (
    "orders",
    "fulfilment",
    "order_line",
    "parcel",
    "payment_intent",
    "refund",
    "cold_shipment",
)
ORDER_COLUMNS = [
    "id",
    "number",
    "account_id",
    "status",
    "recipient",
    "phone",
    "province",
    "city",
    "county",
    "township",
    "village",
    "address_detail",
    "delivery_method",
    "note",
    "items_fen",
    "shipping_fen",
    "total_fen",
    "created_at",
    "pay_by",
    "paid_at",
    "closed_at",
]
FULFILMENT_COLUMNS = [
    "id",
    "order_id",
    "cooperative_id",
    "status",
    "items_fen",
    "shipping_fen",
    "packed_at",
]
LINE_COLUMNS = [
    "id",
    "order_id",
    "fulfilment_id",
    "sku_id",
    "product_id",
    "product_name",
    "sku_spec",
    "unit",
    "unit_price_fen",
    "quantity",
    "line_total_fen",
    "batch_id",
]
PARCEL_COLUMNS = [
    "id",
    "fulfilment_id",
    "order_id",
    "carrier",
    "order_ref",
    "status",
    "raw_state",
    "events",
    "last_event_at",
    "is_final",
    "subscribed",
    "salt",
    "created_at",
    "updated_at",
]
INTENT_COLUMNS = [
    "id",
    "order_id",
    "provider",
    "channel",
    "out_trade_no",
    "amount_fen",
    "currency",
    "status",
    "provider_ref",
    "client",
    "transaction_id",
    "created_at",
    "paid_at",
]
REFUND_COLUMNS = [
    "id",
    "order_id",
    "intent_id",
    "out_refund_no",
    "amount_fen",
    "reason",
    "status",
    "refund_id",
    "created_at",
    "completed_at",
]


def build_facts(url: str, first: date, last: date) -> tuple[float, int]:
    """The daily facts, one day after another, as the jobs would; returns seconds and rows."""
    from farmgate import db
    from farmgate.reports import summary

    engine = db.make_engine(url)
    t0 = time.perf_counter()
    with _session(engine) as session:
        rows = summary.rebuild(session, first, last, commit_every=10)
        session.commit()
        session.connection().exec_driver_sql("ANALYZE report_fact")
        session.commit()
    engine.dispose()
    return time.perf_counter() - t0, rows


def admin_cookie(url: str) -> tuple[str, int, int]:
    """A township admin's session, a cooperative id and a village id to filter by."""
    from sqlalchemy import select

    from farmgate import db
    from farmgate.accounts import service as accounts
    from farmgate.models import Account, Cooperative, Role, Village

    engine = db.make_engine(url)
    with _session(engine) as session:
        phone = "13800000000"
        admin = session.scalars(select(Account).where(Account.phone == phone)).first()
        if admin is None:  # a run with --skip-seed finds the previous run's
            admin = accounts.create_account(
                session, phone=phone, password="bench-password-1", role=Role.ADMIN
            )
        token = accounts.issue_token(session, admin, "session").token
        coop = session.scalars(select(Cooperative.id).order_by(Cooperative.id)).first()
        village = session.scalars(select(Village.id).order_by(Village.id).offset(2)).first()
        session.commit()
    engine.dispose()
    return token, int(coop), int(village)


def timed(client: httpx.Client, path: str, n: int) -> tuple[float, float, int]:
    """p50 and p99 milliseconds of ``n`` sequential requests (after two warm-ups); bytes."""
    for _ in range(2):
        response = client.get(path)
        response.raise_for_status()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return *p50_p99(samples), len(response.content)


def database_times(
    url: str, first: date, last: date, village: int, n: int
) -> list[tuple[str, float, float]]:
    """The fact queries alone, and the same village sales read live from the order lines."""
    from sqlalchemy import func, select

    from farmgate import db
    from farmgate.models import Order, OrderLine, Product
    from farmgate.reports import queries, summary
    from farmgate.reports.filters import ReportFilters, Scope

    engine = db.make_engine(url)
    out = []
    township = Scope(None, "")
    whole = ReportFilters(first, last)
    month = ReportFilters(last - timedelta(days=29), last)
    village_only = ReportFilters(first, last, village)
    with _session(engine) as session:
        for label, call in (
            ("facts, 2 years", lambda: queries.read_facts(session, township, whole)),
            ("facts, 30 days", lambda: queries.read_facts(session, township, month)),
            (
                "facts, 2 years, one village",
                lambda: queries.read_facts(session, township, village_only),
            ),
            ("trend by day, 2 years", lambda: queries.read_trend(session, township, whole)),
            ("cold chain (live), 2 years", lambda: queries.cold_chain(session, township, whole)),
        ):
            out.append((label, *_sample(call, n)))
        start = summary.day_bounds(first)[0]
        live = (
            select(
                Product.village_id,
                func.sum(OrderLine.line_total_fen),
                func.count(func.distinct(Order.id)),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.paid_at >= start)
            .group_by(Product.village_id)
        )
        out.append(("live lines, 2 years", *_sample(lambda: session.execute(live).all(), 5)))
    engine.dispose()
    return out


def _sample(call: Any, n: int) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    return p50_p99(samples)


def p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.99 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--skip-seed", action="store_true", help="reuse the database of a previous run"
    )
    args = parser.parse_args()

    from farmgate import db
    from farmgate.timeutil import local_today

    if args.skip_seed:
        last = local_today()
        first = last - timedelta(days=args.days - 1)
    else:
        url = fresh_pg(DB_NAME)
        db.upgrade_database(url)
        t0 = time.perf_counter()
        first, last, counts = seed_orders(url, args.lines, args.days)
        print(
            f"# seeded in {time.perf_counter() - t0:.0f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items()),
            flush=True,
        )
        seconds, rows = build_facts(url, first, last)
        print(
            f"# daily facts: {rows:,} rows for {args.days} days in {seconds:.0f} s "
            f"({seconds / args.days * 1000:.0f} ms a day)",
            flush=True,
        )
    url = PG_URL
    token, coop, village = admin_cookie(url)

    print(f"\n{'database read':<34} {'p50 ms':>8} {'p99 ms':>8}")
    for label, p50, p99 in database_times(url, first, last, village, args.requests):
        print(f"{label:<34} {p50:>8.1f} {p99:>8.1f}", flush=True)

    proc, base = serve("reports:make_app", {"FARMGATE_DATABASE_URL": url}, factory=True)
    page, api = "/township/dashboard?", "/api/v1/reports/"
    two_years = f"date_from={first}&date_to={last}"
    by_month = two_years + "&granularity=month"
    month = f"date_from={last - timedelta(days=29)}&date_to={last}"
    year = f"date_from={last - timedelta(days=364)}&date_to={last}&granularity=week"
    n = args.requests
    scenarios = [
        ("page, last 30 days", page + month, n),
        ("page, 1 year by week", page + year, n),
        ("page, 2 years by day", page + two_years, n),
        ("page, 2 years by month", page + by_month, n),
        ("page, 2 years, one village", f"{page}{by_month}&village_id={village}", n),
        ("page, 2 years, one cooperative", f"{page}{by_month}&cooperative_id={coop}", n),
        ("json summary, 2 years", f"{api}summary?{by_month}", n),
        ("export csv products, 2 years", f"{api}export.csv?table=products&{two_years}", 10),
        ("export xlsx all tables, 2 years", f"{api}export.xlsx?{by_month}", 10),
        ("export xlsx all, 2 years by day", f"{api}export.xlsx?{two_years}", 10),
    ]
    try:
        with httpx.Client(base_url=base, cookies={"fg_session": token}, timeout=60) as client:
            for _ in range(100):
                try:
                    client.get("/api/v1/categories")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(
                f"\n{'request (one uvicorn worker)':<34} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9}"
            )
            for label, path, n in scenarios:
                p50, p99, size = timed(client, path, n)
                print(f"{label:<34} {p50:>8.1f} {p99:>8.1f} {size:>9,}", flush=True)
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
