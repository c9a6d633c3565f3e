"""The dashboard's tables as spreadsheets: CSV (one table) and XLSX (one or every table).

Money is written in yuan with two decimals (a number in XLSX, "12.50" in CSV), headers in
Chinese; an XLSX also has a "筛选条件" sheet (scope, dates, village, granularity) and a
"字段说明" sheet saying what every column means, as the trace records export does. The
writers below take any header and rows, so other exports can share them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from farmgate.db import utcnow
from farmgate.reports.figures import Dashboard
from farmgate.reports.filters import GRANULARITY_LABELS
from farmgate.reports.tables import Kind, Table, yuan
from farmgate.spreadsheet_safety import csv_row, xlsx_cell, xlsx_row
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


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a BOM, so that Excel opens Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_row(header))
    for row in rows:
        writer.writerow(csv_row(row))
    return ("\ufeff" + out.getvalue()).encode()


def add_sheet(
    book: Workbook,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    formats: Sequence[str | None] = (),
    widths: Sequence[int] = (),
) -> None:
    """A sheet with a frozen, filterable header row and per-column number formats.

    ``book`` is write-only (streamed: a two-year export stays fast), so the panes and widths
    are set before the first row.
    """
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for i, label in enumerate(header, 1):
        width = widths[i - 1] if i <= len(widths) else max(10, 2 * len(label) + 2)
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.append(xlsx_row(sheet, header))
    count = 0
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            fmt = formats[i] if i < len(formats) else None
            if fmt and value is not None:
                cell = WriteOnlyCell(sheet, value=value)  # Decimals are written exactly
                cell.number_format = fmt
                cells.append(cell)
            else:
                cells.append(xlsx_cell(sheet, value))  # text never becomes a formula
        sheet.append(cells)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(header)))}{count + 1}"


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
        ["汇总方式", GRANULARITY_LABELS[f.granularity]],
        ["口径", "已付款订单按付款日计，退款按到账日计；金额为商品金额（元），不含运费"],
        ["生成时间", format_local(now or utcnow(), "%Y-%m-%d %H:%M:%S")],
    ]


def dashboard_xlsx(board: Dashboard, names: Sequence[str] | None = None) -> bytes:
    """The named tables (default: all) of ``board``, one sheet each, with the two notes sheets."""
    tables = [board.tables[n] for n in (names or list(board.tables))]
    book = Workbook(write_only=True)
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
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(board: Dashboard, table: str | None, extension: str) -> str:
    """An ASCII file name: farmgate-report-{table}-{from}-{to}.{ext}."""
    f = board.filters
    part = f"-{table}" if table else ""
    return f"farmgate-report{part}-{f.date_from:%Y%m%d}-{f.date_to:%Y%m%d}.{extension}"
