"""The simulator's memory: merchant credentials it made up, orders, injected faults, deliveries.

Every key here is generated fresh by the simulator (never a real merchant's): the v2 API key,
the v3 merchant RSA key the shop signs requests with, the v3 "platform" RSA key (with a
self-signed certificate and a public-key id) the simulator signs answers and notifications
with, and the APIv3 key that encrypts notification resources.
"""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAULTS = frozenset(
    {
        "error_500",
        "timeout",
        "notify_twice",
        "notify_forged",
        "notify_wrong_amount",
        "refund_processing",  # the next refund stays PROCESSING until its status is queried
        # Profit-sharing (分账), each used by the next call it applies to:
        "share_receiver_missing",  # every receiver is forgotten: the next order names none added
        "share_ratio_exceeded",  # the next sharing order is refused as over the maximum ratio
        "share_processing",  # the next sharing order stays PROCESSING until queried
        "share_receiver_closed",  # the next sharing order's receiver ends CLOSED
        "return_processing",  # the next return (回退) stays PROCESSING until queried
    }
)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    """WECHATPAY2-SHA256-RSA2048: RSASSA-PKCS1-v1_5 with SHA-256, base64."""
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def self_signed_certificate(key: rsa.RSAPrivateKey, mch_id: str) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Simulated WeChat Pay platform"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"farmgate simulator {mch_id}"),
        ]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def _key32() -> str:
    # APIv3 keys are 32 printable characters, used directly as the AES-256 key.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


@dataclass
class SimOrder:
    out_trade_no: str
    amount_fen: int
    notify_url: str
    trade_type: str  # NATIVE, JSAPI, MWEB (v2) / NATIVE, JSAPI, H5 (v3)
    prepay_id: str
    api: Literal["v2", "v3"] = "v2"
    description: str = ""
    openid: str | None = None
    state: str = "NOTPAY"
    transaction_id: str | None = None
    paid_at: datetime | None = None
    refunds: dict[str, int] = field(default_factory=dict)
    refund_ids: dict[str, str] = field(default_factory=dict)
    refunded_at: dict[str, datetime] = field(default_factory=dict)  # out_refund_no -> when

    @property
    def time_end(self) -> str | None:
        """v2's yyyyMMddHHmmss in Beijing time."""
        return self.paid_at.strftime("%Y%m%d%H%M%S") if self.paid_at else None

    def refund_id(self, out_refund_no: str) -> str:
        return self.refund_ids.setdefault(out_refund_no, "50" + secrets.token_hex(13))


@dataclass
class SimShare:
    """A profit-sharing order (分账单), or an unfreeze (解冻剩余资金), on one transaction."""

    out_order_no: str
    transaction_id: str
    order_id: str
    receivers: list[dict[str, Any]]
    state: str = "FINISHED"  # PROCESSING until queried when the fault asked for it
    unfreeze: bool = False
    returned: int = 0


@dataclass
class SimReturn:
    out_return_no: str
    out_order_no: str
    return_id: str
    return_mchid: str
    amount_fen: int
    description: str
    result: str = "SUCCESS"  # PROCESSING until queried when the fault asked for it


@dataclass
class Delivery:
    """One notification POSTed to a notify_url (status 0: the merchant was unreachable)."""

    out_trade_no: str
    api: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class SimState:
    appid: str
    mch_id: str
    api_key: str  # v2 HMAC-SHA256 / MD5 signing key
    public_url: str = ""
    orders: dict[str, SimOrder] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    timeout_seconds: float = 15.0  # how long the "timeout" fault stalls an answer
    sent: list[bytes] = field(default_factory=list)  # every notification body, delivered or not
    deliveries: list[Delivery] = field(default_factory=list)
    certificate_requests: int = 0  # GET /v3/certificates received (answered or not)
    processing_refunds: set[str] = field(default_factory=set)  # answer PROCESSING once more
    # Changes to the next trade bill (either API), used once: see simulator/bills.py.
    bill_edits: dict[str, object] = field(default_factory=dict)
    bill_files: dict[str, bytes] = field(default_factory=dict)  # v3 download token -> bill
    # Profit-sharing: receivers added ((type, account) -> the decrypted name), sharing orders
    # and unfreezes by out_order_no, returns by out_return_no, the merchant's maximum ratio.
    receivers: dict[tuple[str, str], str] = field(default_factory=dict)
    shares: dict[str, SimShare] = field(default_factory=dict)
    share_returns: dict[str, SimReturn] = field(default_factory=dict)
    max_sharing_bp: int = 3000
    # v3 credentials, all generated here.
    apiv3_key: str = field(default_factory=_key32)
    merchant_key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key, repr=False)
    merchant_serial_no: str = field(default_factory=lambda: secrets.token_hex(20).upper())
    platform_key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key, repr=False)
    platform_public_key_id: str = field(
        default_factory=lambda: "PUB_KEY_ID_" + secrets.token_hex(16).upper()
    )
    # "public_key": answers carry Wechatpay-Serial = the public-key id (WeChat's current mode);
    # "certificate": the platform certificate's serial (the older, downloaded-certificate mode).
    platform_mode: Literal["public_key", "certificate"] = "public_key"
    forger_key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key, repr=False)
    platform_cert: x509.Certificate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.platform_cert = self_signed_certificate(self.platform_key, self.mch_id)

    @property
    def platform_serial_no(self) -> str:
        return f"{self.platform_cert.serial_number:X}"

    @property
    def platform_cert_pem(self) -> str:
        return self.platform_cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def merchant_private_key_pem(self) -> str:
        return private_pem(self.merchant_key)

    @property
    def platform_public_key_pem(self) -> str:
        return public_pem(self.platform_key)

    def take_fault(self, *names: str) -> str | None:
        for name in names:
            if name in self.faults:
                self.faults.remove(name)
                return name
        return None

    def record_refund(self, order: SimOrder, out_refund_no: str, fee: int) -> None:
        """A new refund of ``fee`` on ``order``: kept with its time for the trade bill."""
        order.refunds[out_refund_no] = fee
        order.refunded_at[out_refund_no] = datetime.now(SHANGHAI).replace(microsecond=0)
        order.state = "REFUND"

    def pay(self, order: SimOrder) -> None:
        """The payer pays (once): the order gets a transaction id and a payment time."""
        if order.state == "NOTPAY":
            order.state = "SUCCESS"
            order.transaction_id = "42" + secrets.token_hex(13)
            order.paid_at = datetime.now(SHANGHAI).replace(microsecond=0)
