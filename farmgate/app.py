"""The ASGI application: API, storefront pages and media, with one error policy."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from farmgate import __version__
from farmgate.api import docs as api_docs
from farmgate.api.docs import router as docs_router
from farmgate.api.epcis import router as epcis_router
from farmgate.api.errors import json_error
from farmgate.api.ops import router as ops_router
from farmgate.api.router import api_router, catalogue_api_router
from farmgate.bootstrap import install
from farmgate.callbacks import API_PREFIX
from farmgate.config import settings
from farmgate.db import check_migrations, get_engine
from farmgate.ops.middleware import RequestContext
from farmgate.search import service as search_service
from farmgate.storefront.account_pages import router as account_router
from farmgate.storefront.buyer import router as buyer_router
from farmgate.storefront.coop import router as coop_desk_router
from farmgate.storefront.courier import router as courier_router
from farmgate.storefront.errors import html_error
from farmgate.storefront.invoice_pages import router as invoice_router
from farmgate.storefront.notify_pages import router as notify_router
from farmgate.storefront.pages import catalogue_router
from farmgate.storefront.pages import router as storefront_router
from farmgate.storefront.reports_pages import router as reports_router
from farmgate.storefront.reviews_pages import router as reviews_router
from farmgate.storefront.search_pages import router as search_router
from farmgate.storefront.shop import router as shop_router
from farmgate.storefront.station_order_pages import router as station_order_router
from farmgate.storefront.station_pages import router as station_router
from farmgate.storefront.templating import static_files
from farmgate.storefront.township import router as console_router
from farmgate.storefront.trace_pages import compressed_router
from farmgate.storefront.trace_pages import router as trace_router
from farmgate.storefront.wechat_pages import router as wechat_router
from farmgate.web.conditional import ConditionalGet
from farmgate.web.downloads import XLSX_MEDIA
from farmgate.web.errors import HANDLED_ERRORS
from farmgate.web.guard import Guard, add_security_headers
from farmgate.web.routeindex import RouteIndex
from farmgate.web.unit import bind_units, set_thread_limit
from farmgate.workers.dispatcher import make_job_queue

# Already compressed (photos, PDFs, spreadsheets, archives): gzip would only spend CPU.
NOT_COMPRESSED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "image/*", "application/pdf", XLSX_MEDIA)

log = logging.getLogger(__name__)


def _error_handler(*, outermost: bool = False) -> Any:
    """API paths answer errors in JSON, pages answer them in HTML. The ``outermost`` one
    (unexpected errors: Starlette runs it outside every middleware) adds the guard's headers
    itself."""

    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(("/api/", "/epcis/")):
            response: Response = await json_error(request, exc)
        else:
            response = await html_error(request, exc)
        if outermost:
            add_security_headers(response, request.url.scheme == "https")
        return response

    return handler


def _warm_up_payments() -> None:
    from farmgate.payments.tasks import configured_v3

    try:
        configured_v3()
    except Exception as exc:  # the gateway may be down: notifications are refused until then
        log.warning("WeChat Pay v3 could not start: %s", exc)


def _include_flat(app: FastAPI, router: APIRouter) -> None:
    """Put ``router``'s routes, and those of the routers it includes, on the app's own router,
    in the order FastAPI would try them. FastAPI (0.165) matches an included router's routes
    twice per request (once to find the router, once to handle the request), saving and
    restoring the scope at each level, and again for each level of nesting: a request to the
    API walked three levels, about a tenth of its CPU. A route of the app's own router is
    matched once. Every router here must add nothing to its routes when included (no prefix,
    dependencies, tags or callbacks left to apply: each router's own prefix and tags are in
    its routes already), which this checks."""
    app.router.routes.extend(_flat_routes(router))


def _flat_routes(router: APIRouter, in_schema: bool = True) -> list[APIRoute]:
    if router.dependencies or router.callbacks or router.on_startup or router.on_shutdown:
        raise ValueError("_include_flat is for routers that add nothing at inclusion")
    routes: list[APIRoute] = []
    for route in router.routes:
        if isinstance(route, APIRoute):
            if route.include_in_schema and not in_schema:
                raise ValueError(f"{route.path} would appear in the API schema once flattened")
            routes.append(route)
            continue
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        context = getattr(route, "include_context", None)
        if included is None or context is None or _adds_something(context):
            raise ValueError(f"_include_flat cannot flatten {route!r}")
        routes += _flat_routes(included, in_schema and context.include_in_schema)
    return routes


def _adds_something(context: Any) -> bool:
    return bool(
        context.prefix
        or context.tags
        or context.dependencies
        or context.responses
        or context.callbacks
        or context.deprecated
        or context.max_body_size is not None
    )


def create_app(*, check_schema: bool = True, run_jobs: bool = True) -> FastAPI:
    """The app. ``run_jobs`` starts this process's job executor (see farmgate/workers/)."""
    install()  # listeners and jobs, before any request or job runs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        set_thread_limit()  # the database pool is sized from the same setting
        warning = settings.secret_key_warning()
        if warning:  # in the log and on the console of whoever started the server
            log.warning(warning)
            sys.stderr.write(warning + "\n")
        # WeChat Pay v3's platform certificates (certificate mode) are downloaded now, not
        # by the first notification that arrives (farmgate/payments/wechat_v3.py).
        await asyncio.to_thread(_warm_up_payments)
        if check_schema:
            # Refuse to serve a database the code does not match; the message names the fix.
            check_migrations(get_engine())
        # The search index snapshot loads beside the first requests (farmgate/search/store.py).
        threading.Thread(target=search_service.warm_up, name="search-warm-up", daemon=True).start()
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
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # farmgate/api/docs.py: Swagger UI from our origin, under our CSP
        redoc_url=None,
        lifespan=lifespan,
        # No max_body_size: Starlette's limit answers a plain-text 413; Guard raises it instead.
    )
    for exc_type in HANDLED_ERRORS:
        app.add_exception_handler(exc_type, _error_handler(outermost=exc_type is Exception))
    # Text answers compressed (pages, JSON, CSS, JS); images and files that are already small
    # or compressed pass as they are. Caddy, when in front, leaves an encoded answer alone.
    app.add_middleware(ConditionalGet)  # ETags on the uncompressed bytes, hence inside gzip
    app.add_middleware(
        GZipMiddleware, minimum_size=1024, compresslevel=5, exclude_content_types=NOT_COMPRESSED
    )
    app.add_middleware(Guard)
    app.add_middleware(RequestContext)  # outermost: its id and timing cover the guard's 4xx
    # The hot public pages first: FastAPI tries each route in turn, and these paths are matched
    # by no other route (tests/test_route_order.py checks), so their place changes nothing else.
    # Every route sits on the app's own router (see _include_flat), in this order: FastAPI
    # tries each in turn, so the hot pages come first (tests/test_route_order.py).
    for router in (
        catalogue_router,  # /, /products/{id}, /cooperatives/{id}
        trace_router,  # /01/{rest:path}, what every package's QR code opens
        catalogue_api_router,  # /api/v1/products[/{id}], the API's hot reads
        ops_router,  # /healthz, /readyz, /metrics: literal paths, asked rarely
        docs_router,
        api_router,
        epcis_router,  # /epcis/capture, /epcis/events (partners' API keys)
        coop_desk_router,  # before the storefront's /coop/products/{id}/{action}
        console_router,
        storefront_router,
        account_router,
        shop_router,
        reviews_router,
        buyer_router,
        invoice_router,
        notify_router,
        wechat_router,
        courier_router,
        station_router,
        station_order_router,
        search_router,
        reports_router,
        compressed_router,  # last: /{compressed Digital Link}
    ):
        _include_flat(app, router)
    bind_units(app)  # after every router: each request's database work in one thread call
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    app.mount(settings.media_url_path, StaticFiles(directory=settings.media_dir), name="media")
    app.mount("/static", static_files, name="static")
    app.mount(api_docs.ASSETS_PATH, api_docs.assets(), name="api-docs-assets")
    # Each request is matched against the routes its path can reach (farmgate/web/routeindex.py).
    app.router.middleware_stack = RouteIndex(app.router)
    return app
