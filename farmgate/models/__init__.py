"""Every table, one module each, imported here so metadata and Alembic see them all."""

from farmgate.models.account import Account, AuthToken, LoginThrottle, Role
from farmgate.models.address import Address
from farmgate.models.alert import Alert
from farmgate.models.audit import AuditEntry
from farmgate.models.batch import Batch, BatchInput, BatchLink, BatchStatus, InputKind
from farmgate.models.coldchain import ColdShipment, Handoff, ShipmentStatus, TemperatureReading
from farmgate.models.cooperative import Cooperative, CooperativeBase, CooperativeStatus
from farmgate.models.epcis_capture import CapturedEvent, CapturedEventKey, EpcisPartner
from farmgate.models.evidence import Certification, CertificationKind, Inspection
from farmgate.models.invoice import InvoiceRequest, InvoiceStatus, InvoiceTitleType
from farmgate.models.labels import Labelled
from farmgate.models.ledger import LedgerEntry, LedgerTxn, Payout, PayoutStatus
from farmgate.models.notification import (
    Notification,
    NotificationKind,
    NotificationOptOut,
    NotificationStatus,
)
from farmgate.models.order import (
    STATUS_WRITTEN,
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
from farmgate.models.parcel import (
    CARRIER_NAMES,
    TOWNSHIP_CARRIER,
    CourierPush,
    Parcel,
    ParcelStatus,
    WaybillCreate,
    carrier_label,
)
from farmgate.models.payment import (
    AFTER_SALES_REASONS,
    IntentStatus,
    PaymentIntent,
    PaymentNotification,
    Refund,
    RefundRequest,
    RefundRequestStatus,
    RefundStatus,
)
from farmgate.models.presale import Presale, PresaleOrder, PresaleStatus
from farmgate.models.product import (
    CATEGORIES,
    UNITS,
    Product,
    ProductBase,
    ProductPhoto,
    ProductStatus,
    Sku,
    SkuBase,
    StorageClass,
)
from farmgate.models.recall import CourierVillage, Recall, RecallContact
from farmgate.models.reconciliation import BillCheck
from farmgate.models.report import ReportFact as ReportFact
from farmgate.models.review import ProductReview, ReportReason, ReviewReport
from farmgate.models.search import SearchEntry, SearchSynonym, SearchVersion
from farmgate.models.sharing import (
    ProfitShare,
    ProfitShareReturn,
    ShareReturnStatus,
    ShareStatus,
)
from farmgate.models.shipping import ShippingRule
from farmgate.models.sms import SmsCode
from farmgate.models.station import Station, StationOrder, StationStaff
from farmgate.models.submission import FormSubmission
from farmgate.models.township import Township, Village
from farmgate.models.trace_event import ScanCount, TraceEvent
from farmgate.models.translog import TranslogHead, TranslogLeaf, TranslogNode, TranslogState
from farmgate.models.wechat import WeChatCredential, WeChatIdentity, WeChatOrderPayer

__all__ = [
    "AFTER_SALES_REASONS",
    "CARRIER_NAMES",
    "CATEGORIES",
    "STATUS_WRITTEN",
    "TOWNSHIP_CARRIER",
    "UNITS",
    "Account",
    "Address",
    "Alert",
    "AuditEntry",
    "AuthToken",
    "Batch",
    "BatchInput",
    "BatchLink",
    "BatchStatus",
    "BillCheck",
    "CapturedEvent",
    "CapturedEventKey",
    "Cart",
    "CartItem",
    "Certification",
    "CertificationKind",
    "ColdShipment",
    "Cooperative",
    "CooperativeBase",
    "CooperativeStatus",
    "CourierPush",
    "CourierVillage",
    "DeadJob",
    "DeliveryMethod",
    "EpcisPartner",
    "FormSubmission",
    "Fulfilment",
    "FulfilmentStatus",
    "Handoff",
    "InputKind",
    "Inspection",
    "IntentStatus",
    "InvoiceRequest",
    "InvoiceStatus",
    "InvoiceTitleType",
    "Labelled",
    "LedgerEntry",
    "LedgerTxn",
    "LoginThrottle",
    "Notification",
    "NotificationKind",
    "NotificationOptOut",
    "NotificationStatus",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxJob",
    "OutboxStatus",
    "Parcel",
    "ParcelStatus",
    "PaymentIntent",
    "PaymentNotification",
    "Payout",
    "PayoutStatus",
    "Presale",
    "PresaleOrder",
    "PresaleStatus",
    "Product",
    "ProductBase",
    "ProductPhoto",
    "ProductReview",
    "ProductStatus",
    "ProfitShare",
    "ProfitShareReturn",
    "Recall",
    "RecallContact",
    "Refund",
    "RefundRequest",
    "RefundRequestStatus",
    "RefundStatus",
    "ReportReason",
    "ReviewReport",
    "Role",
    "ScanCount",
    "SearchEntry",
    "SearchSynonym",
    "SearchVersion",
    "ShareReturnStatus",
    "ShareStatus",
    "ShipmentStatus",
    "ShippingRule",
    "Sku",
    "SkuBase",
    "SmsCode",
    "Station",
    "StationOrder",
    "StationStaff",
    "StorageClass",
    "TemperatureReading",
    "Township",
    "TraceEvent",
    "TranslogHead",
    "TranslogLeaf",
    "TranslogNode",
    "TranslogState",
    "Village",
    "WaybillCreate",
    "WeChatCredential",
    "WeChatIdentity",
    "WeChatOrderPayer",
    "carrier_label",
]
