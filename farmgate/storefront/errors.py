"""Errors on pages: a readable page in Chinese (or the sign-in page when signed out)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from farmgate.storefront.templating import templates
from farmgate.web.errors import error_payload


async def html_error(request: Request, exc: Exception) -> Response:
    # The same decision (status, code, message) as the API's, so both layers agree.
    payload = error_payload(exc)
    if payload.status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": payload.status, "message": payload.message, "fields": payload.fields},
        status_code=payload.status,
        headers=payload.headers(),
    )
