"""The dashboard's tables: their titles, columns and what each column means.

The page, the JSON API and both exports take their headers from here, so a spreadsheet's
"字段说明" sheet always describes exactly the columns it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

# How a column's values are stored and shown: fen are integers (shown and exported as yuan
# with two decimals), percent and hours are Decimals with one, number is already in its unit.
Kind = Literal["text", "int", "fen", "percent", "hours", "number"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    meaning: str
    kind: Kind = "text"


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


_PAID = "已付款订单（按付款日，北京时间）"
_NET = "销售额减去退款（元，精确到分）；不含运费"
ORDERS = Column("orders", "订单数", f"包含该项商品的{_PAID}数；一笔订单只计一次", "int")
UNITS = Column("units", "净销量（件）", "售出的规格件数减去整行退款退回的件数", "int")
GROSS = Column("gross", "销售额（元）", f"{_PAID}的商品金额（元，精确到分）；不含运费", "fen")
REFUND = Column(
    "refund",
    "退款（元）",
    "期间退款成功的金额中属于商品的部分（元，精确到分）；按退款到账日计，"
    "按各商品行占订单总额的比例分摊，运费部分不计",
    "fen",
)
NET = Column("net", "净销售额（元）", _NET, "fen")

SPECS: dict[str, tuple[str, list[Column]]] = {
    "overview": (
        "概览",
        [
            Column("metric", "指标", "指标名称"),
            Column("value", "数值", "所选时间、村和范围内的数值", "number"),
            Column("unit", "单位", "数值的单位"),
        ],
    ),
    "trend": (
        "销售趋势",
        [
            Column("period", "时间段", "按日、周（周一至周日）或月汇总的时间段，北京时间"),
            ORDERS,
            UNITS,
            GROSS,
            REFUND,
            NET,
        ],
    ),
    "villages": (
        "各村销售",
        [Column("village", "村", "商品的产地村（村委会）"), ORDERS, UNITS, GROSS, REFUND, NET],
    ),
    "cooperatives": (
        "各合作社销售",
        [Column("cooperative", "合作社", "销售商品的合作社"), ORDERS, UNITS, GROSS, REFUND, NET],
    ),
    "products": (
        "商品销售排行",
        [
            Column("product", "商品", "商品名称（按净销售额从高到低）"),
            Column("cooperative", "合作社", "销售该商品的合作社"),
            Column("village", "产地村", "商品的产地村"),
            ORDERS,
            UNITS,
            NET,
        ],
    ),
    "categories": (
        "各类目销售",
        [Column("category", "类目", "商品类目"), UNITS, GROSS, REFUND, NET],
    ),
    "statuses": (
        "订单状态",
        [
            Column("status", "状态", "订单当前的状态"),
            Column(
                "orders", "订单数", "期间下单（按下单日，北京时间）且目前处于该状态的订单数", "int"
            ),
        ],
    ),
    "provinces": (
        "买家地区",
        [
            Column("province", "省份", "收货地址所在的省、自治区或直辖市"),
            Column("orders", "订单数", f"{_PAID}数", "int"),
            NET,
        ],
    ),
    "delivery": (
        "配送时效",
        [
            Column("carrier", "承运方", "快递公司或乡镇配送员"),
            Column("parcels", "签收包裹数", f"{_PAID}中已签收的包裹数", "int"),
            Column("hours", "平均时长（小时）", "从付款到签收的平均小时数", "hours"),
        ],
    ),
    "coldchain": (
        "冷链达标",
        [
            Column("storage", "储存方式", "冷藏（0-8 ℃）或冷冻（-18 ℃ 及以下）"),
            Column("shipments", "冷链运输数", "期间开始的冷链运输（按批次发出）次数", "int"),
            Column("compliant", "未超温数", "全程温度未超出限值的运输次数", "int"),
            Column("rate", "达标率（%）", "未超温数占冷链运输数的百分比", "percent"),
        ],
    ),
    "refunds": (
        "退款",
        [
            Column("reason", "退款原因", "退款时填写的原因"),
            Column("refunds", "退款笔数", "期间退款成功的笔数（按退款到账日）", "int"),
            Column("amount", "退款金额（元）", REFUND.meaning, "fen"),
        ],
    ),
    "coverage": (
        "各村线上销售覆盖",
        [
            Column("village", "村", "乡镇下辖的行政村（村委会）"),
            Column("cooperatives", "入驻合作社", "已审核通过、位于该村的合作社数", "int"),
            Column("products", "在售商品", "产地为该村、正在销售的商品数", "int"),
            Column("orders", "订单数", ORDERS.meaning, "int"),
            Column("online", "本期线上销售", "期间该村是否有已付款订单（是/否）"),
        ],
    ),
}
TABLE_NAMES = tuple(SPECS)


def yuan(fen: int) -> Decimal:
    """Integer fen as a yuan amount with fen precision: 1250 -> Decimal("12.50")."""
    return Decimal(fen).scaleb(-2)


def new_table(name: str, note: str = "") -> Table:
    title, columns = SPECS[name]
    return Table(name=name, title=title, columns=columns, note=note)
