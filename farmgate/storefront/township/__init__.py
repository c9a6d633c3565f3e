"""The township console (/township/...): review, money, trace alerts, recalls, couriers, jobs.

Each section is its own router module; the dashboard at /township/dashboard is in
farmgate/storefront/reports_pages.py.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

from farmgate.storefront.township import money_pages  # noqa: E402  (orders, cash, refunds)

router.include_router(money_pages.router)
from farmgate.storefront.township import review  # noqa: E402

router.include_router(review.router)

from farmgate.storefront.township import today  # noqa: E402

router.include_router(today.router)
