"""GS1 Digital Link resolver vocabulary: link types, linksets (RFC 9264), the resolver
description at ``/.well-known/gs1resolver``. Pure: the routes decide what the links are.

A resolver answers a Digital Link with one of several links, chosen by ``?linkType=``: the
product information page (``gs1:pip``), the trace page (``gs1:traceability``), certification
information (``gs1:certificationInfo``), the EPCIS query for the item (``gs1:epcis``). With
``?linkType=all``, or when the client asks for ``application/linkset+json``, it answers with
all of them as an RFC 9264 linkset instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GS1_VOC = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
PIP = "pip"
TRACEABILITY = "traceability"
CERTIFICATION = "certificationInfo"
EPCIS = "epcis"
DEFAULT = "defaultLink"
KNOWN = (PIP, TRACEABILITY, CERTIFICATION, EPCIS, DEFAULT)


@dataclass(frozen=True)
class Link:
    link_type: str  # short name in the GS1 Web Vocabulary: "pip", "traceability" ...
    href: str
    title: str
    media_type: str = "text/html"
    language: str = "zh-CN"


def link_type(value: str | None) -> str | None:
    """``gs1:pip``, ``https://gs1.org/voc/pip`` or ``pip`` -> ``pip``; ``all`` stays ``all``;
    None for nothing asked or a type this resolver does not know."""
    text = (value or "").strip()
    if not text:
        return None
    if text == "all":
        return "all"
    for prefix in ("gs1:", GS1_VOC, "http://gs1.org/voc/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text if text in KNOWN else None


def wants_linkset(accept: str | None) -> bool:
    return LINKSET_TYPE in (accept or "").lower()


def linkset(anchor: str, links: list[Link]) -> dict[str, Any]:
    """The RFC 9264 JSON linkset of one Digital Link: link relations as GS1 vocabulary URIs."""
    context: dict[str, Any] = {"anchor": anchor}
    for item in links:
        context.setdefault(GS1_VOC + item.link_type, []).append(
            {
                "href": item.href,
                "title": item.title,
                "type": item.media_type,
                "hreflang": [item.language],
            }
        )
    return {"linkset": [context]}


def link_header(links: list[Link], linkset_href: str) -> str:
    """The same links as an HTTP ``Link`` header, plus where the linkset is."""
    parts = [f'<{linkset_href}>; rel="linkset"; type="{LINKSET_TYPE}"']
    parts += [f'<{item.href}>; rel="{GS1_VOC}{item.link_type}"' for item in links]
    return ", ".join(parts)


def description(root: str, name: str) -> dict[str, Any]:
    """The resolver description file (GS1-Conformant Resolver standard)."""
    return {
        "name": name,
        "resolverRoot": root.rstrip("/"),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [
            {"namespace": GS1_VOC, "prefix": "gs1:", "profile": GS1_VOC + "?show=linktypes"}
        ],
        "linkTypes": [f"gs1:{t}" for t in KNOWN],
        "linkTypeDefaultCanBeLinkset": False,
        "validatorTokenRequired": False,
        "supportsCompressedDigitalLink": True,
        "contact": root.rstrip("/") + "/",
    }
