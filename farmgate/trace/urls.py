"""The public addresses of a batch: its GS1 Digital Link on the platform's own host."""

from __future__ import annotations

from typing import Protocol

from farmgate.config import settings
from farmgate.gs1.digital_link import DigitalLink
from farmgate.gs1.serials import make_serial


class Lot(Protocol):
    """What a lot's addresses are made of: a ``Batch``, or its two columns read as a row."""

    @property
    def gtin(self) -> str: ...

    @property
    def lot_code(self) -> str: ...


def serial_secret() -> bytes:
    return ("farmgate-serial:" + settings.secret_key).encode()


def link(batch: Lot, serial: str | None = None) -> DigitalLink:
    return DigitalLink(gtin=batch.gtin, lot=batch.lot_code, serial=serial)


def trace_url(batch: Lot, serial: str | None = None) -> str:
    """https://HOST/01/{GTIN-14}/10/{lot}[/21/{serial}]"""
    return link(batch, serial).url(settings.public_base_url)


def trace_path(batch: Lot, serial: str | None = None) -> str:
    return link(batch, serial).path()


def serials(batch: Lot, start: int, count: int) -> list[str]:
    """Per-unit serials ``start`` .. ``start + count - 1``: signed, so none can be guessed."""
    secret = serial_secret()
    return [make_serial(secret, batch.gtin, batch.lot_code, n) for n in range(start, start + count)]
