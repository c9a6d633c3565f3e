"""The dashboard over HTTP, on both databases: the JSON API, the pages and the exports.

Exports open with openpyxl and hold exactly what the page shows; a cooperative reads only
its own figures, through any door."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from farmgate.accounts import service as accounts
from farmgate.app import create_app
from farmgate.models import Account, Role
from farmgate.reports import summary
from farmgate.reports.tables import SPECS
from farmgate.storefront import reports_pages
from farmgate.web.cookies import SESSION_COOKIE
from tests.support import factories as f
from tests.support.reports import World, at, make_order, make_refund, make_world

DAY = date(2026, 3, 10)
RANGE = {"date_from": (DAY - timedelta(days=2)).isoformat(), "date_to": DAY.isoformat()}


@pytest.fixture
def web(connection: object) -> Iterator[TestClient]:
    app = create_app(check_schema=False, run_jobs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def sales(session: Session) -> World:
    w = make_world(session)
    chilli, rice, fish = w.products["chilli"], w.products["rice"], w.products["fish"]
    for i, lines in enumerate(
        [
            [(chilli, 2, 3800), (fish, 1, 6800)],
            [(rice, 3, 2500)],
            [(fish, 2, 6800)],
            [(chilli, 1, 3800), (rice, 1, 2500)],
        ]
    ):
        order = make_order(
            session,
            lines,
            paid=at(DAY - timedelta(days=i % 3), 9 + i),
            province="广东省" if i else "湖南省",
        )
        if i == 2:
            make_refund(session, order, 2000, at(DAY, 18), reason="鱼不新鲜")
    summary.rebuild(session, DAY - timedelta(days=2), DAY)
    session.commit()
    return w


def login(client: TestClient, session: Session, account: Account) -> None:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, accounts.issue_token(session, account, "session").token)
    session.commit()


class Tables(HTMLParser):
    """The page's report tables as lists of cell texts, by their data-table name."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.kpis: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._kpi: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("data-table"):
            self._table = a["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "b" and a.get("data-kpi"):
            self._kpi = a["data-kpi"]
            self.kpis[self._kpi] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "b":
            self._kpi = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._kpi:
            self.kpis[self._kpi] += data


def page_tables(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def as_page(value: object, kind: str) -> str:
    """An exported cell as the page writes it."""
    if value is None:
        return "-"
    if kind == "fen":
        return f"{Decimal(str(value)).quantize(Decimal('0.01')):,}"
    if kind in ("percent", "hours"):
        return f"{Decimal(str(value)).quantize(Decimal('0.1')):,}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def test_api_summary_for_the_township(web: TestClient, session: Session, sales: World) -> None:
    response = web.get(
        "/api/v1/reports/summary", params=RANGE, headers=f.auth_headers(session, sales.admin)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == {"cooperative_id": None, "name": "谭家场乡"}
    kpis = {k["key"]: k["value"] for k in body["kpis"]}
    gross = 2 * 3800 + 6800 + 3 * 2500 + 2 * 6800 + 3800 + 2500
    assert kpis["gross"] == gross and kpis["orders"] == 4
    assert kpis["refund"] == 2000 * 13600 // (13600 + 1000)
    tables = {t["name"]: t for t in body["tables"]}
    assert set(tables) == set(SPECS) - {"overview"}
    villages = {r[0]: r for r in tables["villages"]["rows"]}
    assert villages["谭家场"][3] == 3 * 3800 and villages["高坪"][1] == 4
    assert tables["villages"]["columns"][5] == {
        "key": "net",
        "label": "净销售额（元）",
        "meaning": SPECS["villages"][1][5].meaning,
        "kind": "fen",
    }
    one = web.get(
        "/api/v1/reports/tables/provinces",
        params=RANGE,
        headers=f.auth_headers(session, sales.admin),
    ).json()
    assert [r[:2] for r in one["rows"]] == [["广东省", 3], ["湖南省", 1]]


def test_a_cooperative_reads_only_its_own(web: TestClient, session: Session, sales: World) -> None:
    staff1, staff2 = sales.staff
    mine = web.get("/api/v1/reports/summary", params=RANGE, headers=f.auth_headers(session, staff1))
    assert mine.status_code == 200
    body = mine.json()
    assert body["scope"]["name"] == "辣椒合作社"
    products = {r[0] for t in body["tables"] if t["name"] == "products" for r in t["rows"]}
    assert products == {"干红辣椒", "稻花香米"}
    assert {k["key"]: k["value"] for k in body["kpis"]}[
        "gross"
    ] == 2 * 3800 + 3 * 2500 + 3800 + 2500

    other = {"cooperative_id": str(sales.coops[1].id), **RANGE}
    consumer = f.create_account(session, role=Role.CONSUMER)
    courier = f.create_account(session, role=Role.COURIER)
    for account, params in ((staff1, other), (consumer, RANGE), (courier, RANGE)):
        headers = f.auth_headers(session, account)
        for path in (
            "/api/v1/reports/summary",
            "/api/v1/reports/tables/villages",
            "/api/v1/reports/export.csv?table=villages",
            "/api/v1/reports/export.xlsx",
        ):
            response = web.get(path, params=params, headers=headers)
            assert response.status_code == 403, (path, response.text)
            assert response.json()["error"]["code"] == "forbidden"
    assert web.get("/api/v1/reports/summary").status_code == 401

    login(web, session, staff2)
    assert web.get("/township/dashboard").status_code == 403
    page = web.get("/coop/dashboard", params=RANGE)
    assert page.status_code == 200 and "稻花鱼合作社" in page.text and "干红辣椒" not in page.text
    login(web, session, consumer)
    assert web.get("/coop/dashboard").status_code == 403
    web.cookies.clear()
    signed_out = web.get("/township/dashboard", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")


def test_the_page_draws_every_chart(web: TestClient, session: Session, sales: World) -> None:
    login(web, session, sales.admin)
    page = web.get("/township/dashboard", params={**RANGE, "granularity": "day"})
    assert page.status_code == 200, page.text
    # No inline script and nothing from another host (the base page's own /static is fine).
    assert not re.search(r"<script(?![^>]*\ssrc=\"/static/)", page.text)
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    svgs = [s.split("</svg>")[0] + "</svg>" for s in page.text.split("<svg")[1:]]
    assert len(svgs) == len(reports_pages.SECTIONS)
    for svg in svgs:
        root = ElementTree.fromstring("<svg" + svg)
        ns = "{http://www.w3.org/2000/svg}"
        assert root.find(f"{ns}title").text  # type: ignore[union-attr]
        assert (
            root.get("role") == "img"
            and root.get("viewBox") == f"0 0 360 {root.get('viewBox').split()[-1]}"
        )  # type: ignore[union-attr]
        assert root.findall(f".//{ns}text")
    drawn = [s for s in svgs if "暂无数据" not in s.split("</desc>")[1]]
    assert len(drawn) >= 9  # every section has figures except the cold chain and deliveries
    parsed = page_tables(page.text)
    assert parsed.kpis["gross"] == "418.00"  # 2 × 38 + 68 + 3 × 25 + 2 × 68 + 38 + 25
    assert parsed.tables["trend"][1:] == [
        [(DAY - timedelta(days=2)).isoformat(), "1", "2", "136.00", "0.00", "136.00"],
        [(DAY - timedelta(days=1)).isoformat(), "1", "3", "75.00", "0.00", "75.00"],
        [DAY.isoformat(), "2", "5", "207.00", "18.63", "188.37"],  # 20 of 146 yuan: 18.63
    ]


def test_exports_open_and_match_the_page(web: TestClient, session: Session, sales: World) -> None:
    login(web, session, sales.admin)
    params = {**RANGE, "village_id": str(sales.villages[1].id), "granularity": "week"}
    page = page_tables(web.get("/township/dashboard", params=params).text)
    export = web.get("/api/v1/reports/export.xlsx", params=params)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "farmgate-report-20260308-20260310.xlsx" in export.headers["content-disposition"]
    book = load_workbook(io.BytesIO(export.content))
    titles = {title: name for name, (title, _) in SPECS.items()}
    assert book.sheetnames[0] == "筛选条件" and book.sheetnames[-1] == "字段说明"
    assert dict(book["筛选条件"].iter_rows(values_only=True))["村"] == "高坪"
    for sheet in book.sheetnames[1:-1]:
        name = titles[sheet]
        rows = [list(r) for r in book[sheet].iter_rows(values_only=True)]
        assert rows[0] == [c.label for c in SPECS[name][1]]
        if name == "overview":
            shown = {r[0]: r[1] for r in rows[1:]}
            assert as_page(shown["净销售额"], "fen") == page.kpis["net"]
            continue
        expected = page.tables[name]
        assert expected[0] == rows[0]
        kinds = [c.kind for c in SPECS[name][1]]
        body = [[as_page(v, k) for v, k in zip(r, kinds, strict=True)] for r in rows[1:]]
        assert body == expected[1:] or (body == [] and len(expected) == 2), name
    meanings = list(book["字段说明"].iter_rows(values_only=True))
    assert meanings[0] == ("报表", "字段", "含义")
    assert ("各村销售", "净销售额（元）", SPECS["villages"][1][5].meaning) in meanings
    net_cell = book["各村销售"]["F2"]
    assert net_cell.number_format == "0.00"

    csv_file = web.get("/api/v1/reports/export.csv", params={**params, "table": "cooperatives"})
    assert csv_file.status_code == 200 and csv_file.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert lines[0] == [c.label for c in SPECS["cooperatives"][1]]
    kinds = [c.kind for c in SPECS["cooperatives"][1]]
    assert [
        [
            as_page(int(v) if k == "int" else v if k == "text" else Decimal(v), k)
            for v, k in zip(r, kinds, strict=True)
        ]
        for r in lines[1:]
    ] == page.tables["cooperatives"][1:]
    bad = web.get("/api/v1/reports/export.csv", params=params)
    assert bad.status_code == 422 and "table" in bad.json()["error"]["fields"]


def test_bad_filters_are_explained(web: TestClient, session: Session, sales: World) -> None:
    login(web, session, sales.admin)
    page = web.get("/township/dashboard", params={"date_from": "2026-02-30", "village_id": "999"})
    assert page.status_code == 200 and "筛选条件有误" in page.text
    api = web.get(
        "/api/v1/reports/summary",
        params={"village_id": "999"},
        headers=f.auth_headers(session, sales.admin),
    )
    assert api.status_code == 422 and api.json()["error"]["fields"] == {
        "village_id": "请选择本乡的村"
    }
    api = web.get(
        "/api/v1/reports/summary",
        params={"date_from": "2026-03-10", "date_to": "2026-03-01"},
        headers=f.auth_headers(session, sales.admin),
    )
    assert api.status_code == 422 and "date_from" in api.json()["error"]["fields"]


def test_a_township_without_sales_still_draws(web: TestClient, session: Session) -> None:
    w = make_world(session)
    session.commit()
    login(web, session, w.admin)
    page = web.get("/township/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") == len(reports_pages.SECTIONS)
    assert "暂无数据" in page.text and "所选范围内暂无数据" in page.text
    parsed = page_tables(page.text)
    assert parsed.kpis["net"] == "0.00" and parsed.kpis["refund_rate"] == "-"
    assert parsed.tables["coverage"][1:] == [
        ["谭家场", "1", "1", "0", "否"],
        ["高坪", "1", "2", "0", "否"],
        ["李家坳", "0", "0", "0", "否"],
    ]


def test_charts_escape_labels_and_describe_themselves() -> None:
    from farmgate.reports import charts

    ns = "{http://www.w3.org/2000/svg}"
    bars = charts.bar_chart([("<b>村&", 1200.0), ("高坪", 300.0)], title="净销售额", ident="x")
    root = ElementTree.fromstring(bars)
    assert root.find(f"{ns}title").text == "净销售额"  # type: ignore[union-attr]
    assert root.find(f"{ns}desc").text == "<b>村&：1,200；高坪：300"  # type: ignore[union-attr]
    assert [t.text for t in root.iter(f"{ns}text")][1:] == ["<b>村&", "1,200", "高坪", "300"]
    year = [(f"第{i}天", float(i % 7)) for i in range(365)]
    line = ElementTree.fromstring(charts.trend_chart(year, title="趋势", ident="y"))
    assert (
        line.find(f"{ns}polyline") is not None and "共 365 个时间段" in line.find(f"{ns}desc").text
    )  # type: ignore[operator, union-attr]
    donut = ElementTree.fromstring(
        charts.donut_chart([(str(i), 1.0) for i in range(9)], title="类目", ident="z")
    )
    legend = [t.text for t in donut.iter(f"{ns}text")][1:]
    assert len(legend) == 6 and legend[-1].startswith("其他 4")  # type: ignore[union-attr]
    for empty in (
        charts.bar_chart([], title="空", ident="e1"),
        charts.trend_chart([("1", 0.0)], title="空", ident="e2"),
        charts.donut_chart([], title="空", ident="e3"),
    ):
        assert "暂无数据" in empty and ElementTree.fromstring(empty) is not None
