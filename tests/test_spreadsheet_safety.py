"""Exports never hand Excel a formula (CSV/XLSX injection, issue 15.3)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from farmgate.rendering.safe_cells import csv_row, safe_value
from farmgate.reports import exports
from tests.support.trace import create_batch

PAYLOADS = ['=HYPERLINK("http://evil")', "+1+2", "-3+4", "@SUM(A1)", "\tx", "\r=1"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_trigger_gets_a_quote(payload: str) -> None:
    assert safe_value(payload) == "'" + payload
    assert csv_row([payload, None]) == ["'" + payload, ""]


def test_numbers_and_harmless_text_are_left_alone() -> None:
    assert csv_row([-5, 1250, Decimal("-12.50"), 0.5, "谭家场", "a=b"]) == [
        -5,
        1250,
        Decimal("-12.50"),
        0.5,
        "谭家场",
        "a=b",
    ]


def _sheet_cells(body: bytes, title: str | None = None) -> list[list[object]]:
    book = load_workbook(io.BytesIO(body))
    sheet = book[title] if title else book.worksheets[0]
    return [[c for c in row] for row in sheet.iter_rows()]


def test_report_exports_neutralise_text_and_keep_numbers() -> None:
    rows = [["=1+2", Decimal("-12.50"), 3], ["@cmd", None, -4]]
    parsed = list(
        csv.reader(
            io.StringIO(exports.csv_bytes(["名称", "金额", "件数"], rows).decode("utf-8-sig"))
        )
    )
    assert parsed[1][:1] == ["'=1+2"] and parsed[2][0] == "'@cmd"
    assert parsed[1][1] == "-12.50"  # a number, written as a number, not quoted
    book = Workbook(write_only=True)
    exports.add_sheet(book, "表", ["名称", "金额", "件数"], rows, formats=[None, "0.00", "0"])
    out = io.BytesIO()
    book.save(out)
    cells = _sheet_cells(out.getvalue())
    assert cells[1][0].value == "'=1+2" and cells[1][0].data_type == "s"  # type: ignore[attr-defined]
    assert cells[2][0].value == "'@cmd" and cells[2][0].data_type == "s"  # type: ignore[attr-defined]
    assert cells[1][1].data_type == "n" and float(cells[1][1].value) == -12.5  # type: ignore[attr-defined, arg-type]
    assert cells[2][2].value == -4 and cells[2][2].data_type == "n"  # type: ignore[attr-defined]


def test_trace_record_exports_neutralise_what_a_cooperative_typed(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    step = {"step": "storing", "place": '=HYPERLINK("http://evil","点我")', "to_party": "+1"}
    answer = client.post(f"/api/v1/batches/{batch['id']}/events", json=step, headers=farm["staff"])
    assert answer.status_code == 201, answer.text
    url = f"/api/v1/trace-records.{{}}?batch_id={batch['id']}"
    text = client.get(url.format("csv"), headers=farm["staff"]).content.decode("utf-8-sig")
    row = next(r for r in csv.reader(io.StringIO(text)) if r[1] == "仓储")
    assert row[8] == "'" + step["place"] and row[10] == "'+1"
    cells = _sheet_cells(client.get(url.format("xlsx"), headers=farm["staff"]).content)
    stored = next(r for r in cells if r[1].value == "仓储")  # type: ignore[attr-defined]
    assert stored[8].value == "'" + step["place"] and stored[8].data_type == "s"  # type: ignore[attr-defined]
    assert all(c.data_type != "f" for r in cells for c in r)  # type: ignore[attr-defined]
    assert stored[14].data_type == "n"  # the event's sequence number stays a number  # type: ignore[attr-defined]
