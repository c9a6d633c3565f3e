"""The ASGI application: API, storefront pages and media, with one error policy."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from farmgate import __version__
from farmgate.api.errors import JSON_HANDLERS
from farmgate.api.ops import router as ops_router
from farmgate.api.router import api_router
from farmgate.config import settings
from farmgate.db import check_migrations, get_engine
from farmgate.ops.guard import Guard
from farmgate.ops.middleware import RequestContext
from farmgate.storefront.common import STATIC_DIR
from farmgate.storefront.coop import router as coop_desk_router
from farmgate.storefront.courier import router as courier_router
from farmgate.storefront.errors import html_error
from farmgate.storefront.pages import router as storefront_router
from farmgate.storefront.reports_pages import router as reports_router
from farmgate.storefront.search_pages import router as search_router
from farmgate.storefront.shop import router as shop_router
from farmgate.storefront.trace_pages import router as trace_router
from farmgate.workers.dispatcher import make_job_queue

log = logging.getLogger(__name__)


def _dispatching(json_handler: Any) -> Any:
    """API paths answer errors in JSON, pages answer them in HTML."""

    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return await json_handler(request, exc)  # type: ignore[no-any-return]
        return await html_error(request, exc, json_handler)

    return handler


def create_app(*, check_schema: bool = True, run_jobs: bool = True) -> FastAPI:
    """The app. ``run_jobs`` starts this process's job executor (see farmgate/workers/)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if check_schema:
            # Refuse to serve a database the code does not match; the message names the fix.
            check_migrations(get_engine())
        queue = make_job_queue() if run_jobs else None
        app.state.job_queue = queue
        if queue is not None:
            await queue.start()
        try:
            yield
        finally:
            if queue is not None:
                await queue.stop()

    app = FastAPI(
        title="farmgate 乡村好物",
        version=__version__,
        description="乡村农产品电商与溯源平台 API。金额单位均为分（整数）。",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
        max_body_size=settings.max_request_bytes,  # chunked bodies; Guard checks lengths
    )
    for exc_type, handler in JSON_HANDLERS.items():
        app.add_exception_handler(exc_type, _dispatching(handler))
    app.add_middleware(Guard)
    app.add_middleware(RequestContext)  # outermost: its id and timing cover the guard's 4xx
    app.include_router(ops_router)
    app.include_router(api_router)
    app.include_router(coop_desk_router)  # before the storefront's /coop/products/{id}/{action}
    app.include_router(storefront_router)
    app.include_router(shop_router)
    app.include_router(trace_router)
    app.include_router(courier_router)
    app.include_router(search_router)
    app.include_router(reports_router)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    app.mount(settings.media_url_path, StaticFiles(directory=settings.media_dir), name="media")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
