"""One settings object for the whole application, read from ``FARMGATE_*`` variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Published (it is in this file): anyone could sign unit serials and guest order links with it.
DEFAULT_SECRET_KEY = "insecure-dev-secret-change-me"
SECRET_KEY_FILE = "secret_key"


def local_secret_key(path: Path, make: Callable[[], str] | None = None) -> str:
    """The key kept in ``path``, made (random, mode 0600) on first use. Two processes that
    start together agree: the file appears whole or not at all (a hard link of a finished
    temporary file), and the one that loses the race reads the winner's key."""
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    key = make() if make is not None else secrets.token_urlsafe(48)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text().strip()
    finally:
        temporary.unlink(missing_ok=True)
    return key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FARMGATE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./farmgate.db"
    redis_url: str | None = None
    meili_url: str | None = None
    meili_key: str | None = None
    meili_index: str = "products"  # the Meilisearch index farmgate creates and configures
    log_json: bool = False  # one JSON object per log line (production); plain text otherwise
    # The embedded backend: how often a process looks for documents other processes wrote.
    search_refresh_seconds: float = Field(default=0.5, ge=0)
    # A catch-up that applied at least this many entries saves DATA_DIR/search-*.snapshot, which the
    # next process loads instead of building its index from the database (0: no snapshots).
    search_snapshot_min: int = Field(default=5000, ge=0)
    # Signs sessions' CSRF tokens, per-unit serials and guest order links. Unset outside
    # production: a random key made once in DATA_DIR/secret_key and reused.
    secret_key: str = ""
    data_dir: Path = Path("./var")  # files farmgate makes for itself (the development key)
    # "standard": argon2id at the library's recommended strength (3 passes, 64 MiB, 4 lanes).
    # "test": a token cost so the test suite does not spend its time hashing; never production.
    password_hash_cost: Literal["standard", "test"] = "standard"
    public_base_url: str = "http://127.0.0.1:8000"
    media_dir: Path = Path("./media")
    media_url_path: str = "/media"
    township: str = "431223222"
    timezone: str = "Asia/Shanghai"

    max_upload_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Any request body (a logger's readings file is the largest legitimate one).
    max_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Threads for blocking work in a web process (AnyIO's pool, set at startup); the database
    # pool holds at least this many connections (see farmgate/web/unit.py).
    web_threads: int = Field(default=40, ge=2)
    rate_limits: bool = True  # per address and session on login, checkout, scans, uploads
    max_image_pixels: int = Field(default=40_000_000, ge=10_000)
    # PNG and WebP cannot be decoded at a reduced scale (JPEG can, see media/images.py): a
    # 165 KB PNG of 40 Mpx costs seconds of CPU and 200 MB. Phone photos are JPEG.
    max_lossless_pixels: int = Field(default=16_000_000, ge=10_000)
    # Pixels one client (session, else address) may have decoded per second, bursting to one
    # image of max_image_pixels.
    image_pixels_per_second: int = Field(default=8_000_000, ge=10_000)
    image_widths: tuple[int, ...] = (320, 640, 1280)

    # Background jobs (see farmgate/jobs/__init__.py).
    queue_prefix: str = "farmgate"
    job_modules: tuple[str, ...] = ()  # extra modules that register jobs (plugins, tests)
    dispatch_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_stale_seconds: int = Field(default=120, ge=1)  # re-dispatch unconfirmed rows after
    embedded_jobs: bool = True  # without REDIS_URL, run jobs inside the web process

    payment_timeout_minutes: int = Field(default=30, ge=1)  # unpaid stock is released after

    # Payments. Without WECHAT_API_BASE the real api.mch.weixin.qq.com is used; the demo and
    # the tests point it at the bundled simulator.
    # WECHAT_PAY_VERSION picks the protocol: v2 (XML, HMAC-SHA256; API_KEY, and for refunds
    # the merchant's client certificate MCH_CERT/MCH_KEY) or v3 (JSON, RSA; new merchants only
    # get v3: APIV3_KEY, PRIVATE_KEY (PEM path), SERIAL_NO, and WeChat's platform public key
    # PLATFORM_PUBLIC_KEY (PEM path) + its id, or PLATFORM_CERT_DIR of downloaded certificates).
    wechat_pay_version: Literal["v2", "v3"] = "v2"
    wechat_appid: str = ""
    wechat_mch_id: str = ""
    wechat_api_key: str = ""
    wechat_mch_cert: str | None = None
    wechat_mch_key: str | None = None
    wechat_apiv3_key: str = ""
    wechat_private_key: str | None = None
    wechat_serial_no: str = ""
    wechat_platform_public_key: str | None = None
    wechat_platform_public_key_id: str | None = None
    wechat_platform_cert_dir: str | None = None
    wechat_api_base: str | None = None
    payment_http_timeout: float = Field(default=10, gt=0)
    # Yesterday's WeChat trade bill is published around 09:00 Beijing time; the daily
    # reconciliation (job payments.check_bill) fetches it from this local hour on.
    bill_check_hour: int = Field(default=10, ge=0, le=23)
    # A cooperative's invoice PDF (普通发票) is kept in the database, up to this size.
    invoice_pdf_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Paying cash at the village e-commerce service station; staff confirm the receipt.
    cash_payments: bool = True
    cash_hold_hours: int = Field(default=72, ge=1)  # stock stays reserved this long
    # ... for orders the township's own couriers or a station do not deliver (express, post):
    # the buyer is not a neighbour who walks to the station, so the hold is shorter.
    cash_hold_hours_remote: int = Field(default=24, ge=1)
    # A buyer's refund request not answered by its cooperative within this many hours is late:
    # the township console counts it on its today page and the admin may answer it instead.
    refund_answer_hours: int = Field(default=48, ge=1)
    # A delivered order the buyer has not confirmed completes itself this many days after
    # delivery (自动确认收货; the periodic job orders.auto_confirm).
    auto_confirm_days: int = Field(default=7, ge=1)
    # Money to the cooperatives (farmgate/ledger). An order's money becomes payable to each
    # cooperative this many days after delivery is confirmed (the order completed).
    settlement_days: int = Field(default=7, ge=0)
    # WeChat Pay v3 profit-sharing (分账): new v3 payments are created with
    # settle_info.profit_sharing=true, and once an order's money is payable each cooperative
    # with a WeChat receiver gets up to PROFIT_SHARING_MAX_BP of the transaction (WeChat's
    # maximum sharing ratio for the merchant, 3000 = 30%) through WeChat; the rest of what it
    # is owed stays available for the township's bank transfer. Off by default.
    profit_sharing: bool = False
    profit_sharing_max_bp: int = Field(default=3000, ge=0, le=10_000)
    # The platform's commission in basis points (100 = 1%) of the goods, by the most specific
    # of "cooperative:<id>", "category:<category>", "township:<code>", "default" (else 0).
    # FARMGATE_COMMISSION_BP='{"default": 0, "category:fruit": 150}'
    commission_bp: dict[str, int] = Field(default_factory=dict)
    # What a guest (no account) may hold in unpaid orders, so nobody can reserve a SKU's whole
    # stock anonymously: orders per phone and per address, units of one SKU, and the share of
    # a SKU's stock all guests' unpaid orders together may hold.
    guest_max_unpaid_orders: int = Field(default=2, ge=1)
    guest_max_units_per_sku: int = Field(default=10, ge=1)
    guest_max_stock_share: float = Field(default=0.5, gt=0, le=1)
    # A trace event recorded more than this many hours after it happened is marked late on
    # the trace page and in the exports (allowed, but the reader is told).
    trace_late_hours: int = Field(default=48, ge=1)
    simulator: bool = False  # show the demo-only "simulate paying" button
    # A WeChat official account (公众号, farmgate/wechat/): silent OAuth for the buyer's openid,
    # JSAPI payment inside WeChat, JS-SDK share cards, template messages. JSAPI pays with
    # WECHAT_APPID (the Pay appid above): it must be this same account's id, since an openid
    # belongs to one appid. Without APP_ID/APP_SECRET pages in WeChat fall back to the QR code.
    # MP_API_BASE / MP_OAUTH_BASE replace api.weixin.qq.com / open.weixin.qq.com (the simulator).
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_mp_api_base: str | None = None
    wechat_mp_oauth_base: str | None = None
    wechat_http_timeout: float = Field(default=10, gt=0)

    # Logistics: waybills and tracking through a Kuaidi100-protocol aggregator. Without
    # KUAIDI100_KEY no waybills are requested (the demo and tests use the bundled simulator).
    kuaidi100_customer: str = ""
    kuaidi100_key: str = ""
    kuaidi100_secret: str = ""
    kuaidi100_base: str | None = None  # tracking API host (default: the real one)
    kuaidi100_label_base: str | None = None  # e-waybill API host
    # Only a gateway that answers an e-waybill lookup by order id (the simulator does;
    # Kuaidi100 documents none) may turn this on; see logistics/tasks.py.
    kuaidi100_waybill_lookup: bool = False
    courier_company: str = "zhongtong"  # carrier for "快递" deliveries
    post_company: str = "youzhengguonei"  # carrier for "邮政" deliveries (ems for EMS)
    courier_http_timeout: float = Field(default=10, gt=0)
    tracking_poll_minutes: int = Field(default=120, ge=1)  # poll parcels whose pushes stopped

    # Traceability. Products without their own GTIN get one from this GS1 company prefix
    # (6-12 digits; the default is a placeholder for the demo: register your own with GS1 China).
    gs1_company_prefix: str = Field(default="6970000", pattern=r"^\d{6,12}$")
    # A per-unit code scanned by more distinct clients than this within one window of
    # scan_window_hours, or from more network areas, is flagged (one client never flags it).
    scan_alert_clients: int = Field(default=8, ge=2)
    scan_window_hours: int = Field(default=24, ge=1, le=24 * 30)
    scan_alert_places: int = Field(default=5, ge=2)

    # The transparency log of trace events (farmgate/translog/, docs/translog.md): the Ed25519
    # key that signs its heads, base64 of its 32-byte seed. Unset: a random one made once in
    # DATA_DIR/translog_key and reused (keep that file: a new key orphans every head signed).
    translog_key: str = ""
    # The log's name in its signed heads and its public key; default: PUBLIC_BASE_URL's host
    # followed by /translog.
    translog_origin: str = Field(default="", pattern=r"^[^\s+]*$")
    # SMS (Tencent Cloud SMS, API 2021-01-11). Without SMS_SECRET_ID no message is sent (the
    # send job dead-letters); the demo and the tests point SMS_API_BASE at the bundled simulator.
    sms_secret_id: str = ""
    sms_secret_key: str = ""
    sms_sdk_app_id: str = ""
    sms_sign_name: str = "乡村好物"
    sms_template_login: str = ""  # template "验证码{1}，{2}分钟内有效" for register / sign in
    sms_template_reset: str = ""  # the same for a password reset
    sms_api_base: str | None = None  # default https://sms.tencentcloudapi.com
    sms_region: str = "ap-guangzhou"
    sms_http_timeout: float = Field(default=10, gt=0)
    sms_code_minutes: int = Field(default=5, ge=1)
    sms_resend_seconds: int = Field(default=60, ge=1)
    sms_code_max_attempts: int = Field(default=5, ge=1)
    sms_daily_per_phone: int = Field(default=10, ge=1)  # codes per number per local day
    sms_daily_per_address: int = Field(default=30, ge=1)  # ... per client address

    # Order notifications to buyers (farmgate/notify/): a WeChat template message when the order
    # or its account has an openid and the kind's template id is set, an SMS otherwise. Empty
    # template ids mean "not by WeChat"; without SMS settings nothing is sent (recorded as such).
    notify_wechat_template_paid: str = ""
    notify_wechat_template_shipped: str = ""
    notify_wechat_template_delivered: str = ""
    notify_wechat_template_refund: str = ""  # both refund answers: accepted and refused
    notify_wechat_template_recall: str = ""
    notify_sms_template: str = ""  # template "您的订单{1}{2}，详情：{3}" (number, news, link)

    session_days: int = Field(default=14, ge=1)
    api_token_days: int = Field(default=90, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lock_minutes: int = Field(default=15, ge=1)

    @model_validator(mode="after")
    def _refuse_test_hash_cost_in_production(self) -> Settings:
        if self.env == "production" and self.password_hash_cost != "standard":
            raise ValueError("FARMGATE_PASSWORD_HASH_COST=test is for tests only, not production")
        return self

    @model_validator(mode="after")
    def _wechat_one_appid(self) -> Settings:
        if self.wechat_app_id and self.wechat_appid and self.wechat_app_id != self.wechat_appid:
            raise ValueError(
                "FARMGATE_WECHAT_APP_ID (official account) and FARMGATE_WECHAT_APPID (WeChat Pay) "
                "differ: JSAPI payment needs the openid of the appid that pays; use one appid"
            )
        return self

    @model_validator(mode="after")
    def _secret_key(self) -> Settings:
        if self.env == "production":
            if self.secret_key_is_weak:
                raise ValueError(
                    "FARMGATE_SECRET_KEY must be set to a random value of at least 32 "
                    "characters in production (generate one with `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`)"
                )
        elif not self.secret_key:
            self.secret_key = local_secret_key(self.data_dir / SECRET_KEY_FILE)
        return self

    @property
    def secret_key_is_weak(self) -> bool:
        return (
            not self.secret_key
            or self.secret_key == DEFAULT_SECRET_KEY
            or len(self.secret_key) < 32
        )

    def secret_key_warning(self) -> str | None:
        """What to say loudly when the key is the published default or too short."""
        if not self.secret_key_is_weak:
            return None
        return (
            "WARNING: FARMGATE_SECRET_KEY is the published default or shorter than 32 "
            "characters: anyone can forge per-unit trace codes and guest order links. Unset it "
            "to use a random key kept in FARMGATE_DATA_DIR, or set a random value."
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.public_base_url.startswith("https://")


@lru_cache
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
