"""The cooperative's desk: everything a cooperative does, in the browser, on a phone."""

from __future__ import annotations

from fastapi import APIRouter

from farmgate.storefront.coop import bulk, photos, products, skus

router = APIRouter(include_in_schema=False)
# bulk first: its fixed paths (/coop/products/import, /restock) before the product ids.
router.include_router(bulk.router)
router.include_router(products.router)
router.include_router(skus.router)
router.include_router(photos.router)
