"""The one response every export answers with: a file to save."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def files(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for an endpoint that answers with a file: its media types, not JSON."""
    return {200: {"content": {media_type: {} for media_type in media_types}}}


def download(body: bytes | str, media_type: str, filename: str) -> Response:
    """A file to save, its name also in RFC 5987 form for names that are not ASCII."""
    disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
