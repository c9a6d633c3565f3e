"""Building the dashboard's key figures and tables from what farmgate/reports/queries.py read."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from farmgate.db import pk
from farmgate.models import (
    CATEGORIES,
    Cooperative,
    OrderStatus,
    Product,
    StorageClass,
    Village,
    carrier_label,
)
from farmgate.reports import queries
from farmgate.reports.filters import ReportFilters, Scope
from farmgate.reports.queries import Facts, Sum
from farmgate.reports.summary import DELIVERY, PRODUCT, PROVINCE, REFUND, STATUS
from farmgate.reports.tables import Kind, Table, new_table, yuan


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: int | Decimal | None
    kind: Kind
    unit: str


@dataclass
class Dashboard:
    scope: Scope
    filters: ReportFilters
    villages: list[Village]  # the township's, for the filter form
    kpis: list[Kpi] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)


def percent(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


def hours(seconds: int, count: int) -> Decimal | None:
    if count <= 0:
        return None
    return (Decimal(seconds) / count / 3600).quantize(Decimal("0.1"), ROUND_HALF_UP)


def display(value: int | Decimal | None, kind: Kind) -> int | Decimal | None:
    """A stored value in the unit it is shown in (fen become yuan)."""
    if value is None:
        return None
    return yuan(int(value)) if kind == "fen" else value


def _ranked(sums: dict[Any, Sum], by: Callable[[Sum], tuple[int, ...]]) -> list[Any]:
    """Keys with any figure, biggest first, ties in key order (the same on every database)."""
    live = [k for k, s in sums.items() if any(s)]
    return sorted(live, key=lambda k: (*(-x for x in by(sums[k])), str(k)))


def _money(s: Sum) -> tuple[int, ...]:
    return (s.net, s.amount, s.n)


def _sales_rows(sums: dict[Any, Sum], label: Callable[[Any], str]) -> list[list[Any]]:
    return [
        [label(k), s.n, s.net_units, s.amount, s.refund, s.net]
        for k in _ranked(sums, _money)
        for s in (sums[k],)
    ]


class _Names:
    """Display names of villages, cooperatives and products, each read once."""

    def __init__(self, session: Session, villages: Iterable[Village]) -> None:
        self.session = session
        self.villages = {v.id: v.name for v in villages}
        self.coops: dict[int, str] = {}
        self.products: dict[int, tuple[str, str, int, int]] = {}

    def load(self, *, villages: set[int], coops: set[int], products: set[int]) -> None:
        rows = queries.names(
            self.session,
            Product,
            products - set(self.products),
            Product.name,
            Product.category,
            Product.cooperative_id,
            Product.village_id,
        )
        self.products.update({k: tuple(v) for k, v in rows.items()})
        coops |= {p[2] for p in self.products.values()}
        villages |= {p[3] for p in self.products.values()}
        for k, (name,) in queries.names(
            self.session, Cooperative, coops - set(self.coops), Cooperative.name
        ).items():
            self.coops[k] = name
        for k, (name,) in queries.names(
            self.session, Village, villages - set(self.villages), Village.name
        ).items():
            self.villages[k] = name

    def village(self, key: int) -> str:
        return self.villages.get(key, "")

    def coop(self, key: int) -> str:
        return self.coops.get(key, "")


def fill(session: Session, board: Dashboard, facts: Facts, trend: dict[date, Sum]) -> None:
    """Every table and key figure of ``board``, in the order the page shows them."""
    filters, scope = board.filters, board.scope
    by_village = facts.group(PRODUCT, lambda r: r.village, village=True)
    by_coop = facts.group(PRODUCT, lambda r: r.coop, coop=True)
    by_product = facts.group(PRODUCT, lambda r: int(r.key), row=True)
    names = _Names(session, board.villages)
    names.load(villages=set(by_village), coops=set(by_coop), products=set(by_product))

    t: dict[str, Table] = {"trend": _trend(filters, trend)}
    t["villages"] = new_table("villages")
    t["villages"].rows = _sales_rows(by_village, names.village)
    t["cooperatives"] = new_table("cooperatives")
    t["cooperatives"].rows = _sales_rows(by_coop, names.coop)
    t["products"] = _products(by_product, names)
    t["categories"] = _categories(by_product, names)

    statuses = facts.group(STATUS, lambda r: r.key)
    t["statuses"] = new_table("statuses")
    t["statuses"].rows = [[s.label, statuses.get(str(s), Sum()).n] for s in OrderStatus]

    by_province = facts.group(PROVINCE, lambda r: r.key)
    t["provinces"] = new_table("provinces")
    t["provinces"].rows = [
        [p or "未填写", by_province[p].n, by_province[p].net]
        for p in _ranked(by_province, lambda s: (s.n, s.net))
    ]

    by_carrier = facts.group(DELIVERY, lambda r: r.key)
    t["delivery"] = new_table("delivery")
    t["delivery"].rows = [
        [carrier_label(c), s.n, hours(s.seconds, s.n)]
        for c in _ranked(by_carrier, lambda s: (s.n,))
        for s in (by_carrier[c],)
    ]

    t["coldchain"] = _cold_chain(queries.cold_chain(session, scope, filters))

    by_reason = facts.group(REFUND, lambda r: r.key)
    t["refunds"] = new_table("refunds")
    t["refunds"].rows = [
        [reason, s.n, s.amount]
        for reason in _ranked(by_reason, lambda s: (s.amount, s.n))
        for s in (by_reason[reason],)
    ]

    coops_in, products_in = queries.registered(session, scope)
    shown = [v for v in board.villages if filters.village_id in (None, v.id)]
    t["coverage"] = new_table("coverage", note="目标：全部行政村实现线上销售")
    for v in shown:
        orders = by_village.get(pk(v), Sum()).n
        online = "是" if by_village.get(pk(v), Sum()).amount else "否"
        t["coverage"].rows.append(
            [v.name, coops_in.get(pk(v), 0), products_in.get(pk(v), 0), orders, online]
        )

    ids = {pk(v) for v in shown}
    total, deliveries = facts.total(PRODUCT), facts.total(DELIVERY)
    cold = t["coldchain"].rows[-1]
    villages_online = sum(1 for row in t["coverage"].rows if row[4] == "是")
    board.kpis = [
        Kpi("net", "净销售额", total.net, "fen", "元"),
        Kpi("gross", "销售额", total.amount, "fen", "元"),
        Kpi("refund", "退款", total.refund, "fen", "元"),
        Kpi("refund_rate", "退款率", percent(total.refund, total.amount), "percent", "%"),
        Kpi("orders", "付款订单", total.n, "int", "笔"),
        Kpi("units", "净销量", total.net_units, "int", "件"),
        Kpi("active_cooperatives", "有销售的合作社", _count(by_coop), "int", "个"),
        Kpi("cooperatives", "入驻合作社", _within(coops_in, ids), "int", "个"),
        Kpi("active_products", "有销售的商品", _count(by_product), "int", "种"),
        Kpi("products", "在售商品", _within(products_in, ids), "int", "种"),
        Kpi("villages_online", "线上销售的村", villages_online, "int", "个"),
        Kpi("villages", "行政村（目标）", len(shown), "int", "个"),
        Kpi("coverage", "村级覆盖率", percent(villages_online, len(shown)), "percent", "%"),
        Kpi("cold_rate", "冷链达标率", cold[3], "percent", "%"),
        Kpi(
            "delivery_hours",
            "平均配送时长",
            hours(deliveries.seconds, deliveries.n),
            "hours",
            "小时",
        ),
    ]
    overview = new_table("overview")
    overview.rows = [[k.label, display(k.value, k.kind), k.unit] for k in board.kpis]
    board.tables = {"overview": overview, **t}


def _count(sums: dict[Any, Sum]) -> int:
    return sum(1 for s in sums.values() if s.amount)


def _within(per_village: dict[int, int], villages: set[int]) -> int:
    return sum(n for v, n in per_village.items() if v in villages)


def _trend(filters: ReportFilters, per_day: dict[date, Sum]) -> Table:
    """One row per period; ``per_day`` may hold a whole month under its first day."""
    table = new_table("trend")
    days = sorted(per_day)
    i = 0
    for first, last, label in filters.buckets():
        s = Sum()
        while i < len(days) and days[i] <= last:
            if days[i] >= first:
                s = s.plus(per_day[days[i]])
            i += 1
        table.rows.append([label, s.n, s.net_units, s.amount, s.refund, s.net])
    return table


def _products(by_product: dict[int, Sum], names: _Names) -> Table:
    ranked = _ranked(by_product, lambda s: (s.net, s.net_units, s.n))
    table = new_table("products", note=f"共 {len(ranked)} 种商品有销售" if ranked else "")
    for k in ranked:
        name, _, coop, village = names.products.get(k, (str(k), "other", 0, 0))
        s = by_product[k]
        table.rows.append([name, names.coop(coop), names.village(village), s.n, s.net_units, s.net])
    return table


def _categories(by_product: dict[int, Sum], names: _Names) -> Table:
    by_category: dict[str, Sum] = {}
    for k, s in by_product.items():
        category = names.products.get(k, ("", "other", 0, 0))[1]
        by_category[category] = by_category.get(category, Sum()).plus(s)
    table = new_table("categories")
    table.rows = [
        [CATEGORIES.get(c, c), s.net_units, s.amount, s.refund, s.net]
        for c in _ranked(by_category, _money)
        for s in (by_category[c],)
    ]
    return table


def _cold_chain(cold: dict[str, tuple[int, int]]) -> Table:
    table = new_table("coldchain")
    for kind in ("chilled", "frozen"):
        n, bad = cold.get(kind, (0, 0))
        table.rows.append([StorageClass(kind).label, n, n - bad, percent(n - bad, n)])
    n = sum(n for n, _ in cold.values())
    ok = sum(n - bad for n, bad in cold.values())
    table.rows.append(["合计", n, ok, percent(ok, n)])
    return table
