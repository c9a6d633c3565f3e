"""The one response every export answers with: a file to save."""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def files(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for an endpoint that answers with a file: its media types, not JSON."""
    return {200: {"content": {media_type: {} for media_type in media_types}}}


def content_disposition(filename: str) -> str:
    """``attachment`` with the name twice: an ASCII fallback with every character that could
    end the quoted string or the header (quotes, backslashes, CR/LF, other controls, ``;``,
    ``%``) replaced, and the full name in RFC 5987 form; path separators never survive."""
    name = "".join(
        "_" if c in "/\\" or unicodedata.category(c).startswith("C") else c for c in filename
    )
    fallback = "".join(c if " " <= c <= "~" and c not in '"%;' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(body: bytes | str, media_type: str, filename: str) -> Response:
    """A file to save, its name also in RFC 5987 form for names that are not ASCII."""
    disposition = content_disposition(filename)
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
