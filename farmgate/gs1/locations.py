"""GLN-based location identifiers for EPCIS ``readPoint`` / ``bizLocation``.

A cooperative's site is a Global Location Number made from the configured GS1 company prefix
and the cooperative's number as the location reference (prefix + reference = 12 digits, then
the mod-10 check digit). Places inside it that have no GLN of their own, the village a lot
comes from and the plot it grew on, are sub-locations written with AI 254 (GLN extension
component, up to 20 characters of CSET 82): ``V<village code>`` and
``P<village code>-<5 hex of the plot name>`` (plot names are Chinese, which AI 254 cannot
carry). Both forms are the canonical GS1 Digital Link ``https://id.gs1.org/414/<GLN>/254/<ext>``
that EPCIS 2.0 expects; ``sgln_urn`` gives the EPC URN spelling of the same location.
"""

from __future__ import annotations

import hashlib
import re

from farmgate.gs1.gtin import gtin_check_digit

ID_HOST = "https://id.gs1.org"
_EXTENSION = re.compile(r"[A-Za-z0-9\-._]{1,20}")


def gln(company_prefix: str, location_reference: int) -> str:
    """The 13-digit GLN of ``location_reference`` under ``company_prefix`` (6-12 digits)."""
    if not re.fullmatch(r"\d{6,12}", company_prefix):
        raise ValueError(f"GS1 company prefix {company_prefix!r} must be 6-12 digits")
    width = 12 - len(company_prefix)
    if location_reference < 0 or len(str(location_reference)) > width:
        raise ValueError(f"location reference {location_reference} does not fit in {width} digits")
    body = company_prefix + str(location_reference).zfill(width) if width else company_prefix
    return body + str(gtin_check_digit(body))


def location_uri(gln_value: str, extension: str | None = None) -> str:
    """``https://id.gs1.org/414/<gln>[/254/<extension>]``."""
    if not re.fullmatch(r"\d{13}", gln_value):
        raise ValueError(f"GLN {gln_value!r} must be 13 digits")
    if extension is None:
        return f"{ID_HOST}/414/{gln_value}"
    if not _EXTENSION.fullmatch(extension):
        raise ValueError(f"GLN extension {extension!r} is not 1-20 URI-safe characters")
    return f"{ID_HOST}/414/{gln_value}/254/{extension}"


def sgln_urn(company_prefix: str, gln_value: str, extension: str | None = None) -> str:
    """The EPC URN of the same location: ``urn:epc:id:sgln:<prefix>.<reference>.<extension>``."""
    reference = gln_value[len(company_prefix) : 12]
    return f"urn:epc:id:sgln:{company_prefix}.{reference}.{extension or '0'}"


def village_extension(village_code: str) -> str:
    return f"V{village_code}"


def plot_extension(village_code: str | None, plot_name: str) -> str:
    digest = hashlib.sha256(plot_name.encode("utf-8")).hexdigest()[:5]
    return f"P{village_code or '0'}-{digest}"
