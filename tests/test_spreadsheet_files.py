"""XLSX exports leave no file behind when they fail, and refuse before they start."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from farmgate.errors import PermissionDenied, ValidationFailed
from farmgate.models import Account, Role
from farmgate.rendering.spreadsheets import add_sheet, xlsx_bytes
from farmgate.story import records


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where openpyxl spools a write-only sheet (the temporary directory), watched."""
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    return spool


def test_a_book_whose_rows_fail_leaves_no_spooled_sheet(spool: Path) -> None:
    def rows() -> Iterator[list[object]]:
        yield ["辣椒", 3]
        raise RuntimeError("the database went away")

    def build(book: Workbook) -> None:
        add_sheet(book, "清单", ["品名", "数量"], [["大米", 1]])
        add_sheet(book, "明细", ["品名", "数量"], rows())

    with pytest.raises(RuntimeError, match="went away"):
        xlsx_bytes(build)
    assert list(spool.iterdir()) == []


def test_a_book_that_builds_is_whole_and_leaves_nothing(spool: Path) -> None:
    body = xlsx_bytes(lambda book: add_sheet(book, "清单", ["品名", "数量"], [["辣椒", 3]]))
    sheet = load_workbook(io.BytesIO(body))["清单"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["品名", "数量"], ["辣椒", 3]]
    assert list(spool.iterdir()) == []


def test_trace_records_refuse_when_asked_not_when_read(session: Session) -> None:
    """The checks run at the call: an export refused never starts a file."""
    buyer = Account(phone="13700000001", role=Role.CONSUMER, display_name="买家")
    with pytest.raises(PermissionDenied):
        records.rows(session, buyer, batch_id=1)
    admin = Account(phone="13700000002", role=Role.ADMIN, display_name="乡镇")
    with pytest.raises(ValidationFailed):
        records.rows(session, admin)  # neither a lot nor a start
