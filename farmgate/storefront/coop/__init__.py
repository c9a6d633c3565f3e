"""The cooperative's desk: everything a cooperative does, in the browser, on a phone."""

from __future__ import annotations

from fastapi import APIRouter

from farmgate.storefront.coop import (
    batches,
    bulk,
    codes,
    cold,
    invoices,
    money,
    orders,
    photos,
    presales,
    products,
    profile,
    records,
    refunds,
    shipping,
    skus,
)

router = APIRouter(include_in_schema=False)
# bulk first: its fixed paths (/coop/products/import, /restock) before the product ids.
router.include_router(bulk.router)
router.include_router(products.router)
router.include_router(skus.router)
router.include_router(photos.router)
for trace_router in (batches.router, records.router, codes.router, cold.router):
    router.include_router(trace_router)  # the desk's 批次与溯源 section
router.include_router(orders.router)
router.include_router(refunds.router)
router.include_router(presales.router)
router.include_router(money.router)
router.include_router(invoices.router)
router.include_router(profile.router)
router.include_router(shipping.router)
