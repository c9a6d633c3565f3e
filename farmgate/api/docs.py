"""The interactive API docs (Swagger UI) at /api/docs, served entirely from our origin.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script; our CSP
(farmgate/web/guard.py) blocks both, and the page stayed blank. Here the assets come from the
fastapi-offline package (which ships them) under /api/docs/assets, and the start-up code is a
static file, /static/api-docs.js. Swagger UI sets inline styles, so this one page has a CSP
that allows them (``DOCS_CSP``); scripts stay 'self' only.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS_DIR)


@router.get(DOCS_PATH)
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    openapi_url = root + (request.app.openapi_url or "")
    title = escape(f"{request.app.title} API")
    return HTMLResponse(
        f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" href="{root}{ASSETS_PATH}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{root}{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{root}/static/api-docs.js"></script>
</body>
</html>
"""
    )
