"""The township console (/township/...): review, money, trace alerts, recalls, couriers, jobs.

Each section is its own router module; the dashboard at /township/dashboard is in
farmgate/storefront/reports_pages.py.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

from farmgate.storefront.township import (  # noqa: E402
    couriers,
    money_ledger,  # settlement, statements and payouts
    money_pages,  # orders, cash, refunds
    ops,
    review,
    reviews,
    search_words,
    shipping,
    stations,
    today,
    trace,
)

for section in (
    today,
    review,
    money_pages,
    money_ledger,
    trace,
    couriers,
    stations,
    ops,
    reviews,
    shipping,
):
    router.include_router(section.router)
router.include_router(search_words.router)
