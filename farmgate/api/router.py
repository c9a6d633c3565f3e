"""Gathers the API's routers; nothing else lives here."""

from fastapi import APIRouter

from farmgate.api import (
    admin,
    auth,
    catalog,
    coldchain,
    cooperative,
    jobs,
    logistics,
    notifications,
    orders,
    payments,
    reports,
    search,
    trace,
    translog,
)

# The public catalogue's reads go on their own, ahead of everything but the hot pages
# (farmgate/app.py): FastAPI tries each route in turn (tests/test_route_order.py).
catalogue_api_router = catalog.router

# Every API router carries the API's prefix (farmgate.callbacks.API_PREFIX) in its own, so
# including them adds nothing and the app puts their routes on its own router
# (farmgate/app.py, _include_flat).
api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(cooperative.router)
api_router.include_router(admin.router)
api_router.include_router(jobs.router)
api_router.include_router(orders.router)
api_router.include_router(payments.router)
api_router.include_router(trace.router)
api_router.include_router(translog.router)
api_router.include_router(coldchain.router)
api_router.include_router(logistics.router)
api_router.include_router(search.router)
api_router.include_router(reports.router)
api_router.include_router(notifications.router)
