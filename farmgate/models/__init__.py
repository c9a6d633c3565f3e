"""Every table, one module each, imported here so metadata and Alembic see them all."""

from farmgate.models.account import Account, AuthToken, LoginThrottle, Role
from farmgate.models.alert import Alert
from farmgate.models.batch import Batch, BatchInput, BatchLink, BatchStatus, InputKind
from farmgate.models.coldchain import ColdShipment, Handoff, TemperatureReading
from farmgate.models.cooperative import Cooperative, CooperativeBase, CooperativeStatus
from farmgate.models.evidence import Certification, Inspection
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
from farmgate.models.parcel import CourierPush, Parcel
from farmgate.models.payment import (
    IntentStatus,
    PaymentIntent,
    PaymentNotification,
    Refund,
    RefundRequest,
    RefundRequestStatus,
)
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
from farmgate.models.report import ReportFact as ReportFact
from farmgate.models.search import SearchEntry, SearchVersion
from farmgate.models.submission import FormSubmission
from farmgate.models.township import Township, Village
from farmgate.models.trace_event import ScanCount, TraceEvent

__all__ = [
    "CATEGORIES",
    "STORAGE_LABELS",
    "UNITS",
    "Account",
    "Alert",
    "AuthToken",
    "Batch",
    "BatchInput",
    "BatchLink",
    "BatchStatus",
    "Cart",
    "CartItem",
    "Certification",
    "ColdShipment",
    "Cooperative",
    "CooperativeBase",
    "CooperativeStatus",
    "CourierPush",
    "DeadJob",
    "DeliveryMethod",
    "FormSubmission",
    "Fulfilment",
    "FulfilmentStatus",
    "Handoff",
    "InputKind",
    "Inspection",
    "IntentStatus",
    "LoginThrottle",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxJob",
    "OutboxStatus",
    "Parcel",
    "PaymentIntent",
    "PaymentNotification",
    "Product",
    "ProductBase",
    "ProductPhoto",
    "ProductStatus",
    "Refund",
    "RefundRequest",
    "RefundRequestStatus",
    "Role",
    "ScanCount",
    "SearchEntry",
    "SearchVersion",
    "Sku",
    "SkuBase",
    "StorageClass",
    "TemperatureReading",
    "Township",
    "TraceEvent",
    "Village",
]
