"""The township's figures, on both databases: the dashboard's numbers equal sums computed here
independently from the seeded orders (paid minus refunded, per village and day), orders are
counted once however they are grouped, and each cooperative sees only its own."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.errors import NotFound, PermissionDenied, ValidationFailed
from farmgate.jobs import runner
from farmgate.models import (
    Batch,
    ColdShipment,
    Fulfilment,
    Order,
    OrderStatus,
    OutboxJob,
    Parcel,
    ReportFact,
    Role,
)
from farmgate.orders import state
from farmgate.reports import service, summary, tasks
from farmgate.reports.service import Dashboard, Granularity, ReportFilters, Scope
from tests.support import factories as f
from tests.support.reports import SH, World, at, make_order, make_refund, make_world, numbers


def township(w: World) -> Scope:
    return Scope(None, w.township.name)


def board(session: Session, scope: Scope, first: date, last: date | None = None, **kw) -> Dashboard:  # type: ignore[no-untyped-def]
    return service.build(session, scope, ReportFilters(first, last or first, **kw))


def rows(b: Dashboard, table: str) -> dict[str, list]:  # type: ignore[type-arg]
    return {row[0]: row[1:] for row in b.tables[table].rows}


def kpi(b: Dashboard, key: str):  # type: ignore[no-untyped-def]
    return next(k.value for k in b.kpis if k.key == key)


# --- the figures equal sums computed independently -----------------------------------------


def test_paid_minus_refunded_per_village_and_day(session: Session) -> None:
    w = make_world(session)
    rng = random.Random(20260330)
    days = [date(2026, 3, 29) + timedelta(days=i) for i in range(5)]  # across a month's end
    products = list(w.products.values())
    gross: dict[tuple[date, int], int] = defaultdict(int)
    refunded: dict[tuple[date, int], int] = defaultdict(int)
    orders: dict[tuple[date, int], set[int]] = defaultdict(set)
    for _ in range(60):
        day = rng.choice(days)
        # Early and late hours: 00:10 and 23:50 in Shanghai are the previous / same UTC day.
        paid = at(day, rng.choice([0, 7, 12, 23]), rng.choice([0, 10, 50]))
        chosen = rng.sample(products, rng.randint(1, 3))
        lines = [(p, rng.randint(1, 4), rng.randint(300, 9000)) for p in chosen]
        order = make_order(session, lines, paid=paid, province=rng.choice(["湖南省", "广东省"]))
        for product, quantity, price in lines:
            gross[(day, product.village_id)] += quantity * price
            orders[(day, product.village_id)].add(order.id)
        later = rng.choice([d for d in days if d >= day] + [days[-1] + timedelta(days=1)])
        luck = rng.random()
        if luck < 0.25:  # a full refund: every line gets its whole value back, on the refund day
            make_refund(session, order, order.total_fen, at(later, rng.choice([0, 15])))
            for product, quantity, price in lines:
                refunded[(later, product.village_id)] += quantity * price
        elif luck < 0.5 and len(lines) == 1:
            # Partial refunds of a one-line order: the line's part of the running refunded total
            # (its share of line + freight), rounded down.
            (product, quantity, price) = lines[0]
            first = rng.randint(1, order.total_fen - 1)
            second = rng.randint(0, order.total_fen - first)
            make_refund(session, order, first, at(day, 23, 59))
            refunded[(day, product.village_id)] += first * quantity * price // order.total_fen
            if second:
                make_refund(session, order, second, at(later, 10))
                upto = (first + second) * quantity * price // order.total_fen
                refunded[(later, product.village_id)] += (
                    upto - first * quantity * price // order.total_fen
                )
        if rng.random() < 0.1:
            make_refund(session, order, 100, None, status="requested")  # not paid back: no effect
    # Orders never paid count nowhere in the sales.
    make_order(session, [(products[0], 5, 1000)], paid=None, created=at(days[1], 9))
    make_order(
        session, [(products[2], 5, 1000)], paid=None, created=at(days[2], 9), status="cancelled"
    )

    every_day = [*days, days[-1] + timedelta(days=1)]
    summary.rebuild(session, every_day[0], every_day[-1])
    scope = township(w)
    for day in every_day:
        for village in w.villages:
            key = (day, village.id)
            b = board(session, scope, day, village_id=village.id)
            got = rows(b, "villages").get(village.name, [0, 0, 0, 0, 0])
            assert got[2:] == [gross[key], refunded[key], gross[key] - refunded[key]], key
            assert got[0] == len(orders[key]), key
            assert kpi(b, "net") == gross[key] - refunded[key]
        b = board(session, scope, day)
        trend = b.tables["trend"].rows
        assert len(trend) == 1
        paid_orders = set().union(*(orders[(day, v.id)] for v in w.villages))
        day_gross = sum(gross[(day, v.id)] for v in w.villages)
        day_refund = sum(refunded[(day, v.id)] for v in w.villages)
        assert trend[0] == [
            day.isoformat(),
            len(paid_orders),
            trend[0][2],
            day_gross,
            day_refund,
            day_gross - day_refund,
        ]
    whole = board(session, scope, every_day[0], every_day[-1])
    assert kpi(whole, "gross") == sum(gross.values())
    assert kpi(whole, "refund") == sum(refunded.values())
    assert kpi(whole, "orders") == len(set().union(*orders.values()))
    # Every way of cutting the same money adds up to the same total.
    for table, column in (("villages", 5), ("cooperatives", 5), ("categories", 4)):
        assert sum(r[column] for r in whole.tables[table].rows) == kpi(whole, "net"), table
    assert sum(r[2] for r in whole.tables["provinces"].rows) == kpi(whole, "net")
    assert sum(r[1] for r in whole.tables["provinces"].rows) == kpi(whole, "orders")
    assert sum(r[5] for r in whole.tables["trend"].rows) == kpi(whole, "net")


def test_a_refund_is_shared_over_lines_and_freight(session: Session) -> None:
    w = make_world(session)
    chilli, rice, fish = w.products["chilli"], w.products["rice"], w.products["fish"]
    day = date(2026, 4, 10)
    order = make_order(
        session, [(chilli, 2, 1500), (rice, 1, 2000), (fish, 1, 4000)], paid=at(day, 9)
    )
    # Lines 3000 + 2000 + 4000, freight 1000 + 1000: total 11000.
    assert order.total_fen == 11000
    make_refund(session, order, 5500, at(day + timedelta(days=1), 9), reason="部分商品破损")
    make_refund(session, order, 5500, at(day + timedelta(days=2), 9))
    summary.rebuild(session, day, day + timedelta(days=2))
    scope = township(w)
    # Half refunded: 1500, 1000, 2000 for the lines (the freight's 500 + 500 not reported).
    b = board(session, scope, day + timedelta(days=1))
    assert rows(b, "villages") == {"谭家场": [0, 0, 0, 1500, -1500], "高坪": [0, 0, 0, 3000, -3000]}
    assert rows(b, "cooperatives")["辣椒合作社"][3] == 2500
    assert rows(b, "refunds") == {"部分商品破损": [1, 4500]}
    # The rest: every line has had its whole value back, and its units count as returned.
    b = board(session, scope, day + timedelta(days=2))
    assert rows(b, "villages") == {
        "谭家场": [0, -2, 0, 1500, -1500],
        "高坪": [0, -2, 0, 3000, -3000],
    }
    assert rows(b, "refunds") == {"质量问题": [1, 4500]}
    b = board(session, scope, day, day + timedelta(days=2))
    assert kpi(b, "net") == 0 and kpi(b, "units") == 0 and kpi(b, "gross") == 9000
    assert kpi(b, "refund_rate") == 100


def test_shares_add_up_and_never_exceed_a_part() -> None:
    rng = random.Random(5)
    for _ in range(300):
        parts = [rng.randint(1, 50_000) for _ in range(rng.randint(1, 6))]
        total, refunded, before = sum(parts), 0, [0] * len(parts)
        while refunded < total:
            refunded = min(total, refunded + rng.randint(1, total))
            after = summary.shares(refunded, parts)
            assert sum(after) == refunded
            assert all(0 <= a <= p for a, p in zip(after, parts, strict=True))
            before = after
        assert before == parts


def test_the_day_is_the_shanghai_day(session: Session) -> None:
    w = make_world(session)
    chilli = w.products["chilli"]
    day = date(2026, 5, 1)
    make_order(session, [(chilli, 1, 100)], paid=at(day, 0, 0))  # 16:00 UTC the day before
    make_order(session, [(chilli, 1, 200)], paid=at(day, 23, 59))  # 15:59 UTC the same day
    make_order(session, [(chilli, 1, 400)], paid=at(day + timedelta(days=1), 0, 1))
    summary.rebuild(session, day - timedelta(days=1), day + timedelta(days=1))
    b = board(session, township(w), day - timedelta(days=1), day + timedelta(days=1))
    assert [r[3] for r in b.tables["trend"].rows] == [0, 300, 400]


def test_orders_are_counted_once_however_grouped(session: Session) -> None:
    w = make_world(session)
    chilli, rice, fish = w.products["chilli"], w.products["rice"], w.products["fish"]
    day = date(2026, 6, 2)
    make_order(session, [(chilli, 1, 100), (rice, 1, 100), (fish, 1, 100)], paid=at(day, 9))
    make_order(session, [(chilli, 1, 100)], paid=at(day, 10), province="广东省")
    make_order(session, [(rice, 2, 100), (fish, 1, 100)], paid=at(day, 11))
    summary.rebuild(session, day, day)
    coop1 = Scope(w.coops[0].id, w.coops[0].name)
    a, b_ = w.villages[0].id, w.villages[1].id

    def counts(scope: Scope, **kw) -> tuple:  # type: ignore[no-untyped-def, type-arg]
        d = board(session, scope, day, **kw)
        return (
            kpi(d, "orders"),
            {k: v[0] for k, v in rows(d, "villages").items()},
            {k: v[0] for k, v in rows(d, "cooperatives").items()},
            {r[0]: r[3] for r in d.tables["products"].rows},
            {k: v[0] for k, v in rows(d, "provinces").items()},
            d.tables["trend"].rows[0][1],
        )

    assert counts(township(w)) == (
        3,
        {"谭家场": 2, "高坪": 2},
        {"辣椒合作社": 3, "稻花鱼合作社": 2},
        {"干红辣椒": 2, "稻花香米": 2, "稻花鱼": 2},
        {"湖南省": 2, "广东省": 1},
        3,
    )
    assert counts(township(w), village_id=b_) == (
        2,
        {"高坪": 2},
        {"辣椒合作社": 2, "稻花鱼合作社": 2},
        {"稻花香米": 2, "稻花鱼": 2},
        {"湖南省": 2},
        2,
    )
    assert counts(coop1) == (
        3,
        {"谭家场": 2, "高坪": 2},
        {"辣椒合作社": 3},
        {"干红辣椒": 2, "稻花香米": 2},
        {"湖南省": 2, "广东省": 1},
        3,
    )
    assert counts(coop1, village_id=a)[0] == 2


def test_statuses_deliveries_cold_chain_and_coverage(session: Session) -> None:
    w = make_world(session)
    chilli, fish = w.products["chilli"], w.products["fish"]
    day = date(2026, 7, 8)
    shipped = make_order(session, [(chilli, 1, 100)], paid=at(day, 8), status="delivered")
    mixed = make_order(
        session, [(chilli, 1, 100), (fish, 1, 100)], paid=at(day, 9), status="shipped"
    )
    make_order(session, [(fish, 1, 100)], paid=None, created=at(day, 10))
    make_order(session, [(fish, 1, 100)], paid=None, created=at(day, 11), status="cancelled")
    make_order(session, [(fish, 1, 100)], paid=None, created=at(day - timedelta(days=1), 23))
    for order, which, carrier, hours, status in (
        (shipped, 0, "zhongtong", 50, "delivered"),
        (mixed, 1, "zhongtong", 26, "delivered"),  # the fish cooperative's parcel
        (mixed, 0, "youzhengguonei", 0, "in_transit"),
    ):
        fulfilment = session.scalars(
            select(Fulfilment).where(Fulfilment.order_id == order.id).order_by(Fulfilment.id)
        ).all()[which]
        session.add(
            Parcel(
                fulfilment_id=fulfilment.id,
                order_id=order.id,
                carrier=carrier,
                order_ref=f"P{next(numbers)}",
                salt="s",
                status=status,
                last_event_at=order.paid_at + timedelta(hours=hours) if hours else None,
            )
        )
    for coop, storage, breached in (
        (w.coops[1], "chilled", False),
        (w.coops[1], "chilled", True),
        (w.coops[1], "chilled", False),
        (w.coops[1], "frozen", False),
        (w.coops[0], "ambient", True),  # not cold chain: not counted
    ):
        batch = Batch(
            cooperative_id=coop.id,
            product_id=fish.id,
            lot_code=f"L{next(numbers)}",
            gtin="06970000000017",
            quantity=1,
            unit="kg",
        )
        session.add(batch)
        session.flush()
        session.add(
            ColdShipment(
                batch_id=batch.id,
                cooperative_id=coop.id,
                storage_class=storage,
                breached=breached,
                created_at=at(day, 12),
            )
        )
    session.flush()
    summary.rebuild(session, day, day)
    b = board(session, township(w), day)
    statuses = rows(b, "statuses")
    assert statuses["待付款"] == [1] and statuses["已取消"] == [1]
    assert statuses["已发货"] == [1] and statuses["已送达"] == [1] and statuses["已付款"] == [0]
    assert rows(b, "delivery") == {"中通快递": [2, Decimal("38.0")]}
    assert rows(b, "coldchain") == {
        "冷藏": [3, 2, Decimal("66.7")],
        "冷冻": [1, 1, 100],
        "合计": [4, 3, 75],
    }
    assert rows(b, "coverage") == {
        "谭家场": [1, 1, 2, "是"],
        "高坪": [1, 2, 1, "是"],
        "李家坳": [0, 0, 0, "否"],
    }
    assert kpi(b, "villages_online") == 2 and kpi(b, "villages") == 3
    assert kpi(b, "coverage") == Decimal("66.7")
    assert kpi(b, "delivery_hours") == 38
    mine = board(session, Scope(w.coops[0].id, "辣椒合作社"), day)
    assert rows(mine, "coldchain")["合计"] == [0, 0, None]
    assert rows(mine, "statuses")["已取消"] == [0] and rows(mine, "statuses")["已送达"] == [1]
    assert rows(mine, "delivery") == {"中通快递": [1, Decimal("50.0")]}
    assert rows(mine, "coverage")["高坪"] == [0, 1, 0, "否"]  # its rice: on sale, unsold


def test_weeks_and_months(session: Session) -> None:
    w = make_world(session)
    chilli = w.products["chilli"]
    for day in (date(2026, 8, 30), date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 7)):
        make_order(session, [(chilli, 1, 1000)], paid=at(day, 12))
    summary.rebuild(session, date(2026, 8, 30), date(2026, 9, 7))
    scope = township(w)
    weeks = board(session, scope, date(2026, 8, 30), date(2026, 9, 7), granularity=Granularity.WEEK)
    assert [(r[0], r[3]) for r in weeks.tables["trend"].rows] == [
        ("2026-08-30～08-30", 1000),  # Sunday: the end of its week
        ("2026-08-31～09-06", 2000),
        ("2026-09-07～09-07", 1000),
    ]
    months = board(
        session, scope, date(2026, 8, 30), date(2026, 9, 7), granularity=Granularity.MONTH
    )
    assert [(r[0], r[3]) for r in months.tables["trend"].rows] == [
        ("2026-08", 2000),
        ("2026-09", 2000),
    ]


def test_whole_months_are_read_from_their_month_rows(session: Session) -> None:
    w = make_world(session)
    rng = random.Random(3)
    gross: dict[date, int] = defaultdict(int)
    for _ in range(40):
        day = date(2026, 2, 20) + timedelta(days=rng.randint(0, 50))
        product = rng.choice(list(w.products.values()))
        quantity, price = rng.randint(1, 3), rng.randint(100, 5000)
        make_order(session, [(product, quantity, price)], paid=at(day, 12))
        gross[day] += quantity * price
    summary.rebuild(session, date(2026, 2, 1), date(2026, 4, 30))
    first, last = date(2026, 2, 25), date(2026, 4, 5)  # March whole, days of Feb and April

    def between(a: date, b: date) -> int:
        return sum(v for d, v in gross.items() if a <= d <= b)

    scope = township(w)
    by_day = board(session, scope, first, last)
    by_month = board(session, scope, first, last, granularity=Granularity.MONTH)
    assert kpi(by_day, "gross") == kpi(by_month, "gross") == between(first, last)
    assert sum(r[3] for r in by_day.tables["trend"].rows) == between(first, last)
    assert [(r[0], r[3]) for r in by_month.tables["trend"].rows] == [
        ("2026-02", between(first, date(2026, 2, 28))),
        ("2026-03", between(date(2026, 3, 1), date(2026, 3, 31))),
        ("2026-04", between(date(2026, 4, 1), last)),
    ]
    # A day refreshed later moves its month too.
    make_order(session, [(w.products["fish"], 1, 777)], paid=at(date(2026, 3, 9), 12))
    summary.refresh_day(session, date(2026, 3, 9))
    again = board(session, scope, date(2026, 3, 1), date(2026, 3, 31))
    assert kpi(again, "gross") == between(date(2026, 3, 1), date(2026, 3, 31)) + 777


# --- who may see what ---------------------------------------------------------------------


def test_scope_is_decided_from_the_account(session: Session) -> None:
    w = make_world(session)
    fish, chilli = w.products["fish"], w.products["chilli"]
    day = date(2026, 3, 3)
    make_order(session, [(chilli, 1, 1000)], paid=at(day, 9))
    make_order(session, [(fish, 1, 7000)], paid=at(day, 9))
    summary.rebuild(session, day, day)
    filters = ReportFilters(day, day)
    staff1 = w.staff[0]

    assert service.dashboard(session, w.admin, filters).scope.township
    assert kpi(service.dashboard(session, w.admin, filters), "gross") == 8000
    theirs = service.dashboard(session, w.admin, filters, w.coops[1].id)
    assert theirs.scope.name == "稻花鱼合作社" and kpi(theirs, "gross") == 7000

    own = service.dashboard(session, staff1, filters)
    assert own.scope.cooperative_id == w.coops[0].id and kpi(own, "gross") == 1000
    assert list(rows(own, "cooperatives")) == ["辣椒合作社"]
    assert [r[0] for r in own.tables["products"].rows] == ["干红辣椒"]
    with pytest.raises(PermissionDenied):
        service.dashboard(session, staff1, filters, w.coops[1].id)
    for role in (Role.CONSUMER, Role.COURIER):
        with pytest.raises(PermissionDenied):
            service.dashboard(session, f.create_account(session, role=role), filters)
    with pytest.raises(NotFound):
        service.dashboard(session, w.admin, filters, 999_999)


def test_filters_are_checked() -> None:
    assert ReportFilters.parse().date_to - ReportFilters.parse().date_from == timedelta(days=29)
    f_ = ReportFilters.parse("2026-01-01", "2026-01-31", "3", "week")
    assert (f_.village_id, f_.granularity) == (3, Granularity.WEEK)
    for bad in (
        {"date_from": "2026-13-01"},
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        {"date_from": "2020-01-01", "date_to": "2026-01-01"},
        {"village_id": "x"},
        {"granularity": "year"},
    ):
        with pytest.raises(ValidationFailed):
            ReportFilters.parse(**bad)


# --- the jobs that keep the facts ---------------------------------------------------------


def _report_days(session: Session) -> list[str | None]:
    return list(
        session.scalars(
            select(OutboxJob.key)
            .where(OutboxJob.job == "reports.refresh_day")
            .order_by(OutboxJob.key)
        )
    )


def test_a_status_written_by_transition_queues_its_days(session: Session) -> None:
    """``orders.state.transition`` writes the status with a Core UPDATE, which no flush shows:
    the reports' listener still queues the days of purchase and of payment, and a rollback
    forgets them."""
    w = make_world(session)
    order = make_order(
        session, [(w.products["chilli"], 1, 500)], paid=None, created=at(date(2026, 9, 1), 9)
    )
    session.commit()
    session.query(OutboxJob).delete()
    session.commit()

    state.transition(session, order, OrderStatus.PAID, actor_name="payment")
    session.rollback()
    session.commit()
    assert _report_days(session) == []

    order = session.get(Order, order.id)
    state.transition(session, order, OrderStatus.PAID, actor_name="payment")
    assert not session.dirty  # written already, nothing left for a flush
    session.commit()
    paid_day = summary.local_day(order.paid_at).isoformat()
    assert _report_days(session) == sorted({"report-day:2026-09-01", f"report-day:{paid_day}"})
    session.expire_all()
    stored = session.get(Order, order.id)
    assert (stored.status, stored.paid_at is not None) == (OrderStatus.PAID, True)


def test_jobs_recompute_the_days_an_order_touches(session: Session) -> None:
    w = make_world(session)
    chilli = w.products["chilli"]
    order = make_order(
        session,
        [(chilli, 2, 500)],
        paid=at(date(2026, 9, 2), 0, 5),
        created=at(date(2026, 9, 1), 23, 58),
    )
    tasks.order_changed(session, order)
    tasks.order_changed(session, order)  # a second change before the run: the same jobs
    refund = make_refund(session, order, 300, at(date(2026, 9, 5), 10))
    tasks.refund_completed(session, refund)
    session.commit()
    jobs = session.scalars(
        select(OutboxJob).where(OutboxJob.job == "reports.refresh_day").order_by(OutboxJob.key)
    ).all()
    assert [j.key for j in jobs] == [
        "report-day:2026-09-01",
        "report-day:2026-09-02",
        "report-day:2026-09-05",
    ]
    assert {runner.execute(j.id).outcome for j in jobs} == {"done"}
    session.expire_all()
    b = board(session, township(w), date(2026, 9, 1), date(2026, 9, 5))
    assert (kpi(b, "gross"), kpi(b, "refund")) == (1000, 1000 * 300 // 2000)
    assert rows(b, "statuses")["已付款"] == [1]

    before = session.scalars(select(ReportFact).order_by(ReportFact.id)).all()
    snapshot = [(r.day, r.facet, r.key, r.amount_fen, r.refund_fen, r.n_all) for r in before]
    summary.refresh_day(session, date(2026, 9, 2))  # again: the same rows
    again = session.scalars(select(ReportFact).order_by(ReportFact.day, ReportFact.facet)).all()
    assert sorted(snapshot) == sorted(
        (r.day, r.facet, r.key, r.amount_fen, r.refund_fen, r.n_all) for r in again
    )


def test_the_sweep_refreshes_today(session: Session) -> None:
    w = make_world(session)
    now = datetime.now(SH)
    make_order(session, [(w.products["rice"], 3, 700)], paid=now - timedelta(minutes=1))
    assert tasks.refresh_recent(session) > 0
    today = now.date()
    b = board(session, township(w), today)
    assert kpi(b, "gross") == 2100 and rows(b, "villages")["高坪"][0] == 1
