"""Errors on pages: a readable page in Chinese (or the sign-in page when signed out)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from farmgate.storefront.templating import templates


async def html_error(request: Request, exc: Exception, json_handler: Any) -> Response:
    # Reuse the JSON handler's decision (status, code, message) so both layers agree.
    json_response = await json_handler(request, exc)
    payload = json.loads(json_response.body)["error"]
    status = json_response.status_code
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": payload["message"], "fields": payload["fields"]},
        status_code=status,
    )
