"""Spreadsheet writers every export shares: CSV that Excel opens, XLSX sheets ready to filter.

They take any header and rows; the reports' dashboard and the trace records both use them.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from farmgate.rendering.safe_cells import csv_row, xlsx_cell, xlsx_row


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a BOM, so that Excel opens Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_row(header))
    for row in rows:
        writer.writerow(csv_row(row))  # text that a spreadsheet would run as a formula is quoted
    return ("\ufeff" + out.getvalue()).encode()


def xlsx_bytes(build: Callable[[Workbook], None]) -> bytes:
    """A streamed (write-only) workbook that ``build`` fills, as XLSX bytes.

    Such a book's sheets spool to temporary files that only saving it removes (openpyxl
    otherwise deletes them when the process exits). If ``build`` fails (a refusal, or a row
    that cannot be read, raised while the rows are produced), the book is saved anyway, to
    nowhere, and the error goes on: a server that runs for months keeps no file of an export
    that failed."""
    book = Workbook(write_only=True)
    try:
        build(book)
    except BaseException:
        with contextlib.suppress(Exception):  # the error that stopped ``build`` is the one told
            book.save(io.BytesIO())
        raise
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


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
