"""Every table, one module each, imported here so metadata and Alembic see them all."""

from farmgate.models.account import Account, AuthToken, LoginThrottle, Role
from farmgate.models.cooperative import Cooperative, CooperativeBase, CooperativeStatus
from farmgate.models.order import (
    Cart,
    CartItem,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from farmgate.models.outbox import DeadJob, OutboxJob, OutboxStatus
from farmgate.models.payment import IntentStatus, PaymentIntent, PaymentNotification, Refund
from farmgate.models.product import (
    CATEGORIES,
    STORAGE_LABELS,
    UNITS,
    Product,
    ProductBase,
    ProductPhoto,
    ProductStatus,
    Sku,
    SkuBase,
    StorageClass,
)
from farmgate.models.township import Township, Village

__all__ = [
    "CATEGORIES",
    "STORAGE_LABELS",
    "UNITS",
    "Account",
    "AuthToken",
    "Cart",
    "CartItem",
    "Cooperative",
    "CooperativeBase",
    "CooperativeStatus",
    "DeadJob",
    "DeliveryMethod",
    "Fulfilment",
    "FulfilmentStatus",
    "IntentStatus",
    "LoginThrottle",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxJob",
    "OutboxStatus",
    "PaymentIntent",
    "PaymentNotification",
    "Product",
    "ProductBase",
    "ProductPhoto",
    "ProductStatus",
    "Refund",
    "Role",
    "Sku",
    "SkuBase",
    "StorageClass",
    "Township",
    "Village",
]
