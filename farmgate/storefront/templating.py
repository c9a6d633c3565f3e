"""The Jinja2 environment shared by every page, with display filters."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from farmgate.models import AFTER_SALES_REASONS, OrderStatus, StorageClass
from farmgate.payments import aftersales
from farmgate.stations import hours as station_hours
from farmgate.timeutil import format_local
from farmgate.web.assets import VersionedStatic

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
# The /static mount; pages link its files with asset("site.css"), a content-hashed URL.
static_files = VersionedStatic(Path(__file__).parent / "static", "/static")


def yuan(fen: int | None) -> str:
    """Integer fen to a price string: 1250 -> "12.50"."""
    if fen is None:
        return "-"
    return f"{fen // 100}.{fen % 100:02d}"


def qty(value: object) -> str:
    """A decimal quantity without trailing zeros: Decimal("120.000") -> "120"."""
    text = f"{value:f}" if hasattr(value, "as_tuple") else str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


templates.env.globals["asset"] = static_files.url
templates.env.filters["yuan"] = yuan
templates.env.filters["qty"] = qty
templates.env.filters["local_time"] = format_local
# A station's week in a line, and whether it is open now (HoursStatus: .open_now, .text).
templates.env.filters["station_hours"] = lambda station: station_hours.summary(station.weekly_hours)
templates.env.filters["station_status"] = station_hours.station_status
templates.env.globals["storage_labels"] = StorageClass.labels()
templates.env.globals["status_labels"] = OrderStatus.labels()
templates.env.globals["after_sales_photo"] = aftersales.photo_url
templates.env.globals["after_sales_reasons"] = AFTER_SALES_REASONS
