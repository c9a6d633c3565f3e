"""The township console (/township/...): review, money, trace alerts, recalls, couriers, jobs.

Each section is its own router module; the dashboard at /township/dashboard is in
farmgate/storefront/reports_pages.py.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

from farmgate.storefront.township import couriers, ops, trace  # noqa: E402

router.include_router(trace.router)
router.include_router(ops.router)
router.include_router(couriers.router)
