"""The township's sales figures: the dashboard as JSON, and its tables as CSV or XLSX.

Township admins see the township (or, with ``cooperative_id``, any cooperative);
cooperative staff see their own cooperative only. Money in JSON is integer fen (columns of
kind ``fen``); the spreadsheets show yuan with two decimals.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from farmgate.callbacks import API_PREFIX
from farmgate.reports import exports, service
from farmgate.reports.service import Dashboard, Granularity, ReportFilters, Table
from farmgate.web.auth import CurrentAccount
from farmgate.web.downloads import XLSX_MEDIA, download, files
from farmgate.web.session import SessionDep
from farmgate.web.unit import reads_in_unit

router = APIRouter(prefix=f"{API_PREFIX}/reports", tags=["报表"])

Cell = str | int | float | None


class ColumnOut(BaseModel):
    key: str
    label: str
    meaning: str
    kind: str


class TableOut(BaseModel):
    name: str
    title: str
    note: str
    columns: list[ColumnOut]
    rows: list[list[Cell]]


class KpiOut(BaseModel):
    key: str
    label: str
    value: int | float | None
    kind: str
    unit: str


class ScopeOut(BaseModel):
    cooperative_id: int | None
    name: str


class FiltersOut(BaseModel):
    date_from: date
    date_to: date
    village_id: int | None
    granularity: Granularity


class DashboardOut(BaseModel):
    scope: ScopeOut
    filters: FiltersOut
    kpis: list[KpiOut]
    tables: list[TableOut]


def _json(value: Any) -> Cell:
    return float(value) if isinstance(value, Decimal) else value


def _number(value: int | Decimal | None) -> int | float | None:
    return float(value) if isinstance(value, Decimal) else value


def table_out(table: Table) -> TableOut:
    return TableOut(
        name=table.name,
        title=table.title,
        note=table.note,
        columns=[ColumnOut(**vars(c)) for c in table.columns],
        rows=[[_json(v) for v in row] for row in table.rows],
    )


def dashboard_out(board: Dashboard) -> DashboardOut:
    f = board.filters
    return DashboardOut(
        scope=ScopeOut(cooperative_id=board.scope.cooperative_id, name=board.scope.name),
        filters=FiltersOut(
            date_from=f.date_from,
            date_to=f.date_to,
            village_id=f.village_id,
            granularity=f.granularity,
        ),
        kpis=[
            KpiOut(key=k.key, label=k.label, value=_number(k.value), kind=k.kind, unit=k.unit)
            for k in board.kpis
        ],
        tables=[table_out(t) for t in board.tables.values() if t.name != "overview"],
    )


@reads_in_unit
def report_board(
    session: SessionDep,
    account: CurrentAccount,
    date_from: Annotated[date | None, Query(description="开始日期（北京时间，含）")] = None,
    date_to: Annotated[date | None, Query(description="结束日期（北京时间，含）；默认今天")] = None,
    village_id: Annotated[int | None, Query(description="只看该村（商品产地村）")] = None,
    granularity: Annotated[Granularity, Query(description="趋势按日、周或月汇总")] = (
        Granularity.DAY
    ),
    cooperative_id: Annotated[
        int | None, Query(description="乡镇管理员可查看某个合作社；合作社账号只能看本社")
    ] = None,
) -> Dashboard:
    filters = ReportFilters.parse(
        date_from.isoformat() if date_from else None,
        date_to.isoformat() if date_to else None,
        village_id,
        granularity,
    )
    return service.dashboard(session, account, filters, cooperative_id)


Board = Annotated[Dashboard, Depends(report_board)]


@router.get("/summary", response_model=DashboardOut, summary="销售数据看板（全部指标与报表）")
def summary(board: Board) -> DashboardOut:
    return dashboard_out(board)


@router.get("/tables/{name}", response_model=TableOut, summary="看板中的一张报表")
def one_table(name: str, board: Board) -> TableOut:
    return table_out(service.table(board, name))


@router.get(
    "/export.{fmt}",
    summary="导出报表（CSV 为一张表；XLSX 不指定表时含全部报表）",
    response_class=Response,
    responses=files("text/csv", XLSX_MEDIA),
)
def export(
    fmt: Literal["csv", "xlsx"],
    board: Board,
    table: Annotated[str | None, Query(description="报表名，如 villages；CSV 必填")] = None,
) -> Response:
    if fmt == "csv":
        chosen = service.table(board, table or "")
        body, media = exports.table_csv(chosen), "text/csv; charset=utf-8"
    else:
        names = [service.table(board, table).name] if table else None
        body, media = exports.dashboard_xlsx(board, names), XLSX_MEDIA
    return download(body, media, exports.filename(board, table, fmt))
