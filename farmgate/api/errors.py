"""Every error leaves the API as ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from farmgate.web.errors import error_payload


async def json_error(_: Request, exc: Exception) -> JSONResponse:
    payload = error_payload(exc)
    return JSONResponse(payload.body(), status_code=payload.status, headers=payload.headers())
