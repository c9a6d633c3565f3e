"""A download's file name cannot break out of its Content-Disposition header."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import FastAPI
from fastapi.testclient import TestClient

from farmgate.web.downloads import download

HOSTILE = 'a"b\\c\r\nSet-Cookie: x=1;\t溯源\x00/..\\报表.pdf'


def test_a_hostile_file_name_is_made_safe() -> None:
    app = FastAPI()

    @app.get("/file")
    def file() -> object:
        return download(b"%PDF", "application/pdf", HOSTILE)

    answer = TestClient(app).get("/file")
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    disposition = answer.headers["content-disposition"]
    assert disposition.isascii() and disposition.isprintable()
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert not set(fallback) & set('"\\/;\r\n\t\x00'), fallback
    assert fallback.endswith(".pdf")
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert not set(encoded) & set(" \"'\\/;,")
    # The full name is kept in RFC 5987 form, only the control characters and path
    # separators replaced.
    assert unquote(encoded) == 'a"b_c__Set-Cookie: x=1;_溯源__.._报表.pdf'


def test_a_plain_name_stays_as_it_is() -> None:
    answer = download(b"x", "text/csv", "report-2026.csv")
    assert answer.headers["content-disposition"] == (
        "attachment; filename=\"report-2026.csv\"; filename*=UTF-8''report-2026.csv"
    )
