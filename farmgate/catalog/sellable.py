"""What can be sold, said once: a published product of an approved (so not suspended)
cooperative, through an active SKU. The SQL form needs ``Cooperative`` (and ``Sku``) joined;
the Python form checks rows already loaded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlmodel import col

from farmgate.models import Cooperative, CooperativeStatus, Product, ProductStatus, Sku


def product_on_sale() -> Any:
    """SQL: the product is published and its cooperative approved (join Cooperative)."""
    return and_(
        col(Product.status) == ProductStatus.PUBLISHED,
        col(Cooperative.status) == CooperativeStatus.APPROVED,
    )


def sku_on_sale() -> Any:
    """SQL: the SKU is active and its product on sale (join Product and Cooperative)."""
    return and_(col(Sku.is_active), product_on_sale())


def is_on_sale(product: Product, cooperative: Cooperative, sku: Sku | None = None) -> bool:
    """The same rule for loaded rows (a cart line, a checkout)."""
    return (
        (sku is None or sku.is_active)
        and product.status == ProductStatus.PUBLISHED
        and cooperative.status == CooperativeStatus.APPROVED
    )
