"""The sales dashboard pages: /township/dashboard (township admins) and /coop/dashboard
(a cooperative's own figures). Charts are inline SVG drawn here on the server; the page needs
no JavaScript and prints as it is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from farmgate.cooperatives import service as cooperatives
from farmgate.errors import ValidationFailed
from farmgate.models import Account, Role
from farmgate.presale import service as presale
from farmgate.reports import charts, service
from farmgate.reports import stations as station_reports
from farmgate.reports.filters import Granularity
from farmgate.reports.service import Dashboard, ReportFilters
from farmgate.reports.tables import yuan
from farmgate.storefront.common import PageAccount, page_user, render
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)
PAGE_PRODUCTS = 20  # rows of the product ranking on the page; the exports have them all
# The page's sections, in order, with the chart each gets.
SECTIONS = (
    "trend",
    "villages",
    "coverage",
    "cooperatives",
    "products",
    "categories",
    "statuses",
    "provinces",
    "delivery",
    "coldchain",
    "refunds",
)


def money(fen: float) -> str:
    return f"{yuan(int(fen)):,}"


def cell(value: Any, kind: str) -> str:
    """A table cell as the page shows it: yuan with two decimals, "-" for nothing."""
    if value is None:
        return "-"
    if kind == "fen":
        return money(value)
    if isinstance(value, Decimal):
        return f"{value:,}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _column(board: Dashboard, name: str, label: int, value: int) -> list[tuple[str, float]]:
    return [(str(row[label]), float(row[value] or 0)) for row in board.tables[name].rows]


def draw(board: Dashboard) -> dict[str, Markup]:
    """One chart per section, from the same rows as its table."""
    t = board.tables
    count = charts.plain
    cold = t["coldchain"].rows[-1]
    coverage = [row[4] for row in t["coverage"].rows]
    svgs = {
        "trend": charts.trend_chart(
            _column(board, "trend", 0, 5), title="净销售额（元）", ident="c-trend", fmt=money
        ),
        "villages": charts.bar_chart(
            _column(board, "villages", 0, 5),
            title="各村净销售额（元）",
            ident="c-villages",
            fmt=money,
        ),
        "coverage": charts.donut_chart(
            [("有线上销售", coverage.count("是")), ("暂无销售", coverage.count("否"))],
            title="行政村线上销售覆盖",
            ident="c-coverage",
            fmt=count,
        ),
        "cooperatives": charts.bar_chart(
            _column(board, "cooperatives", 0, 5),
            title="各合作社净销售额（元）",
            ident="c-cooperatives",
            fmt=money,
        ),
        "products": charts.bar_chart(
            _column(board, "products", 0, 5),
            title="商品净销售额前十（元）",
            ident="c-products",
            fmt=money,
        ),
        "categories": charts.donut_chart(
            _column(board, "categories", 0, 4),
            title="各类目净销售额（元）",
            ident="c-categories",
            fmt=money,
        ),
        "statuses": charts.bar_chart(
            [(label, n) for label, n in _column(board, "statuses", 0, 1) if n],
            title="订单状态（笔）",
            ident="c-statuses",
            fmt=count,
        ),
        "provinces": charts.bar_chart(
            _column(board, "provinces", 0, 1),
            title="买家地区（订单数）",
            ident="c-provinces",
            fmt=count,
        ),
        "delivery": charts.bar_chart(
            _column(board, "delivery", 0, 2),
            title="平均配送时长（小时）",
            ident="c-delivery",
            fmt=lambda v: f"{v:.1f}",
        ),
        "coldchain": charts.donut_chart(
            [("未超温", cold[2]), ("超温", cold[1] - cold[2])],
            title="冷链运输达标情况（次）",
            ident="c-coldchain",
            fmt=count,
        ),
        "refunds": charts.bar_chart(
            _column(board, "refunds", 0, 2), title="退款金额（元）", ident="c-refunds", fmt=money
        ),
    }
    return {name: Markup(svg) for name, svg in svgs.items()}  # built with escaped labels


def _dashboard(
    request: Request,
    session: SessionDep,
    account: Account,
    params: dict[str, str],
    cooperative_id: int | None,
) -> Response:
    error = None
    try:
        filters = ReportFilters.parse(
            params.get("date_from"),
            params.get("date_to"),
            params.get("village_id"),
            params.get("granularity"),
        )
        board = service.dashboard(session, account, filters, cooperative_id)
    except ValidationFailed as exc:  # a bad filter shows the default view and says why
        error = "；".join([exc.message, *exc.fields.values()])
        board = service.dashboard(session, account, ReportFilters.parse(), cooperative_id)
    query = board.filters.params()
    if cooperative_id is not None and account.role == Role.ADMIN:
        query["cooperative_id"] = str(cooperative_id)
    choices = cooperatives.list_public(session) if account.role == Role.ADMIN else []
    village = next((v.name for v in board.villages if v.id == board.filters.village_id), None)
    return render(
        request,
        "reports_dashboard.html",
        account,
        board=board,
        filters=board.filters,
        village_name=village,
        charts=draw(board),
        sections=[board.tables[name] for name in SECTIONS],
        page_rows={"products": PAGE_PRODUCTS},
        cell=cell,
        money=money,
        granularities=Granularity.labels(),
        coop_choices=[(c.id, c.name) for c in choices],
        cooperative_id=cooperative_id,
        path=request.url.path,
        query=urlencode(query),
        error=error,
        stations=station_reports.station_counts(session, board.filters)
        if account.role == Role.ADMIN and cooperative_id is None
        else None,
        presale_volumes=presale.volumes(session, cooperative_id),
    )


@router.get("/township/dashboard", response_class=HTMLResponse)
def township_dashboard(request: Request, session: SessionDep, account: PageAccount) -> Response:
    """The township's view; ``cooperative_id`` narrows it to one cooperative."""
    admin = page_user(account, Role.ADMIN, "该页面仅供乡镇管理员使用")
    params = dict(request.query_params)
    coop = params.get("cooperative_id", "")
    return _dashboard(request, session, admin, params, int(coop) if coop.isdigit() else None)


@router.get("/coop/dashboard", response_class=HTMLResponse)
def coop_dashboard(request: Request, session: SessionDep, account: PageAccount) -> Response:
    """A cooperative's own figures, the same view as the township's."""
    staff = page_user(account, Role.COOPERATIVE, "该页面仅供合作社账号使用")
    params = dict(request.query_params)
    return _dashboard(request, session, staff, params, staff.cooperative_id)
