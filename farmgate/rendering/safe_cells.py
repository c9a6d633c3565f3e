"""Cells that a spreadsheet will not run: CSV/Excel formula injection (OWASP).

A buyer's name, an address or a lot note typed as ``=HYPERLINK(...)`` or ``+cmd|...`` would
become a live formula when a township clerk opens an export in Excel or WPS. Every text cell
that starts with ``= + - @``, a tab or a carriage return gets a leading single quote, and
XLSX text cells are typed as strings, never formulas. Numbers (fen, counts, Decimals,
dates) stay numeric cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet.worksheet import Worksheet

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """The text with a leading quote when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(TRIGGERS) else value


def safe_value(value: Any) -> Any:
    """Strings neutralised; anything else (numbers, dates, None) unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def csv_row(row: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer``: None as an empty cell, strings neutralised."""
    return ["" if v is None else safe_value(v) for v in row]


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """An XLSX cell: strings neutralised and typed as text; other values as they are."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=safe_text(value))
    cell.data_type = "s"  # never "f", whatever the text looks like
    return cell


def xlsx_row(sheet: Worksheet | Any, row: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append`` (normal or write-only sheets)."""
    return [xlsx_cell(sheet, v) for v in row]
