"""The dashboard's tables as spreadsheets: CSV (one table) and XLSX (one or every table).

Money is written in yuan with two decimals (a number in XLSX, "12.50" in CSV), headers in
Chinese; an XLSX also has a "筛选条件" sheet (scope, dates, village, granularity) and a
"字段说明" sheet saying what every column means, as the trace records export does. The
writers are shared with it (farmgate/rendering/spreadsheets.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook

from farmgate.db import utcnow
from farmgate.rendering.spreadsheets import add_sheet, csv_bytes, xlsx_bytes
from farmgate.reports.figures import Dashboard
from farmgate.reports.filters import Granularity
from farmgate.reports.tables import Kind, Table, yuan
from farmgate.timeutil import format_local

NUMBER_FORMATS: dict[str, str] = {"fen": "0.00", "percent": "0.0", "hours": "0.0", "int": "0"}


def cell(value: Any, kind: Kind) -> Any:
    """A stored value as a spreadsheet shows it: fen become yuan, None an empty cell."""
    if value is None:
        return None
    if kind == "fen":
        return yuan(int(value))
    return value


def export_rows(table: Table) -> list[list[Any]]:
    kinds = [c.kind for c in table.columns]
    return [[cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in table.rows]


def table_csv(table: Table) -> bytes:
    return csv_bytes([c.label for c in table.columns], export_rows(table))


def filters_rows(board: Dashboard, *, now: datetime | None = None) -> list[list[str]]:
    f = board.filters
    village = next((v.name for v in board.villages if v.id == f.village_id), "全部村")
    return [
        ["统计范围", board.scope.name],
        ["开始日期", f.date_from.isoformat()],
        ["结束日期", f.date_to.isoformat()],
        ["村", village],
        ["汇总方式", Granularity(f.granularity).label],
        ["口径", "已付款订单按付款日计，退款按到账日计；金额为商品金额（元），不含运费"],
        ["生成时间", format_local(now or utcnow(), "%Y-%m-%d %H:%M:%S")],
    ]


def dashboard_xlsx(board: Dashboard, names: Sequence[str] | None = None) -> bytes:
    """The named tables (default: all) of ``board``, one sheet each, with the two notes sheets."""
    tables = [board.tables[n] for n in (names or list(board.tables))]

    def build(book: Workbook) -> None:
        add_sheet(book, "筛选条件", ["项目", "内容"], filters_rows(board), widths=(12, 60))
        for table in tables:
            add_sheet(
                book,
                table.title,
                [c.label for c in table.columns],
                export_rows(table),
                formats=[NUMBER_FORMATS.get(c.kind) for c in table.columns],
            )
        meanings = [[t.title, c.label, c.meaning] for t in tables for c in t.columns]
        add_sheet(book, "字段说明", ["报表", "字段", "含义"], meanings, widths=(14, 16, 80))

    return xlsx_bytes(build)


def filename(board: Dashboard, table: str | None, extension: str) -> str:
    """An ASCII file name: farmgate-report-{table}-{from}-{to}.{ext}."""
    f = board.filters
    part = f"-{table}" if table else ""
    return f"farmgate-report{part}-{f.date_from:%Y%m%d}-{f.date_to:%Y%m%d}.{extension}"
