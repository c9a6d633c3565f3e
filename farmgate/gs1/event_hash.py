"""The CBV 2.0 EPCIS event hash (``ni:///sha-256;<hex>?ver=CBV2.0``), for ``eventID``.

GS1's Core Business Vocabulary 2.0 (section 8.9) defines an event identifier that anyone can
recompute from the event itself, whatever its syntax: a "pre-hash string" of the event's
fields in a canonical order and form, hashed with SHA-256. The canonical form:

- ``eventType=...`` first, then the standard fields in the CBV order (``PROP_ORDER``), each as
  ``name=value`` (or ``name`` followed by its children), same-named values sorted;
- times in UTC with milliseconds and ``Z``; numbers without trailing zeros;
- CBV terms as their web URIs (``https://ref.gs1.org/cbv/BizStep-shipping``), GS1 keys in EPC
  URN form as canonical GS1 Digital Link URIs on ``id.gs1.org``;
- every other field (ILMD, extensions, source/destination and transaction lists) after them,
  sorted, extension names written as ``{namespace}localName``;
- ``eventID``, ``recordTime`` and ``errorDeclaration`` left out, so a correction keeps the
  event's ID and an ID can be computed before the event is stored.

This follows GS1's reference implementation (the ``epcis-event-hash-generator`` package), which
tests/test_event_hash.py uses as the oracle on GS1's own example documents.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from farmgate.gs1.gtin import gtin_check_digit

Node = tuple[str, str, list[Any]]  # (name, text, children) as GS1's reference models XML

_SUB_QUANTITY = [("quantityElement", [("epcClass", None), ("quantity", None), ("uom", None)])]
_EPC = [("epc", None)]
PROP_ORDER: list[tuple[str, Any]] = [
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", _EPC),
    ("inputEPCList", _EPC),
    ("childEPCs", _EPC),
    ("quantityList", _SUB_QUANTITY),
    ("childQuantityList", _SUB_QUANTITY),
    ("inputQuantityList", _SUB_QUANTITY),
    ("outputEPCList", _EPC),
    ("outputQuantityList", _SUB_QUANTITY),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", [("set", None), ("unset", None)]),
    ("readPoint", [("id", None)]),
    ("bizLocation", [("id", None)]),
    (
        "sensorElementList",
        [
            (
                "sensorElement",
                [
                    (
                        "sensorMetadata",
                        [
                            (name, None)
                            for name in "time startTime endTime deviceID deviceMetadata "
                            "rawData dataProcessingMethod bizRules".split()
                        ],
                    ),
                    (
                        "sensorReport",
                        [
                            (name, None)
                            for name in "type exception deviceID deviceMetadata rawData "
                            "dataProcessingMethod time microorganism chemicalSubstance value "
                            "component stringValue booleanValue hexBinaryValue uriValue "
                            "minValue maxValue meanValue sDev percRank percValue uom "
                            "coordinateReferenceSystem".split()
                        ],
                    ),
                ],
            )
        ],
    ),
]
_IGNORED = ("recordTime", "eventID", "type", "errorDeclaration")
_PAIR_LISTS = ("sourceList", "destinationList", "bizTransactionList")
_UNSORTED_KEYS = ("bizTransaction", "source", "destination")

# Bare CBV / GS1 Web Vocabulary terms, by the field they stand in, as the JSON-LD context
# expands them.
_CBV_FIELDS = {"bizStep": "BizStep", "disposition": "Disp"}
_CBV_URN = {"bizstep": "BizStep", "disp": "Disp", "btt": "BTT", "sdt": "SDT", "er": "ER"}
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"


# --- value canonicalisation --------------------------------------------------------------


def _with_check(digits: str) -> str:
    return digits + str(gtin_check_digit(digits))


def _pct(text: str) -> str:
    return re.sub(r"[!'()*+,:;=]", lambda m: f"%{ord(m.group()):02X}", text)


_SERIAL = r"((?:%[0-9A-Fa-f]{2}|[!')(*+,.0-9:;=A-Za-z_-])+)"


def to_digital_link(uri: str) -> str | None:
    """A GS1 key in EPC URN or Digital Link form as a canonical Digital Link on id.gs1.org."""
    if m := re.fullmatch(r"urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\." + _SERIAL, uri):
        prefix, item, serial = m.groups()
        if len(prefix) + len(item) == 13:
            gtin = _with_check(item[:1] + prefix + item[1:])
            return f"https://id.gs1.org/01/{gtin}/21/{_pct(serial)}"
    if m := re.fullmatch(r"urn:epc:class:lgtin:(\d{6,12})\.(\d{1,7})\." + _SERIAL, uri):
        prefix, item, lot = m.groups()
        if len(prefix) + len(item) == 13:
            gtin = _with_check(item[:1] + prefix + item[1:])
            return f"https://id.gs1.org/01/{gtin}/10/{_pct(lot)}"
    if m := re.fullmatch(r"urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*", uri):
        prefix, item = m.groups()
        if len(prefix) + len(item) == 13:
            return f"https://id.gs1.org/01/{_with_check(item[:1] + prefix + item[1:])}"
    if m := re.fullmatch(r"urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})", uri):
        prefix, ref = m.groups()
        if len(prefix) + len(ref) == 17:
            return f"https://id.gs1.org/00/{_with_check(ref[:1] + prefix + ref[1:])}"
    if m := re.fullmatch(r"urn:epc:id:sgln:(\d{6,12})\.(\d{0,6})\." + _SERIAL, uri):
        prefix, ref, ext = m.groups()
        if len(prefix) + len(ref) == 12:
            gln = _with_check(prefix + ref)
            base = f"https://id.gs1.org/414/{gln}"
            return base if ext == "0" else f"{base}/254/{_pct(ext)}"
    if m := re.fullmatch(r"urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})", uri):
        if len(m.group(1)) + len(m.group(2)) == 12:
            return f"https://id.gs1.org/417/{_with_check(m.group(1) + m.group(2))}"
    if m := re.fullmatch(r"urn:epc:id:giai:(\d{6,12})\." + _SERIAL, uri):
        return f"https://id.gs1.org/8004/{m.group(1)}{_pct(m.group(2))}"
    if m := re.fullmatch(r"urn:epc:id:grai:(\d{6,12})\.(\d{0,6})\." + _SERIAL, uri):
        prefix, ref, serial = m.groups()
        if len(prefix) + len(ref) == 12:
            return f"https://id.gs1.org/8003/{_with_check('0' + prefix + ref)}{_pct(serial)}"
    if m := re.match(r"https?://[^/?#]+(?:/[^?#]*)?(/(?:01|00|414|417|8003|8004|8006|8010|8017|"
                     r"8018|253|255|401|402)/\d{4}[^?#]*)", uri):  # fmt: skip
        return "https://id.gs1.org" + m.group(1).rstrip("/")
    return None


def canonical_value(text: str) -> str:
    """CBV URNs as web URIs, numbers without trailing zeros, GS1 keys as Digital Links."""
    for urn, web in _CBV_URN.items():
        text = text.replace(f"urn:epcglobal:cbv:{urn}:", f"{CBV}{web}-")
    try:
        number = float(text)
        text = str(int(number) if int(number) == number else number)
    except (ValueError, OverflowError):
        pass
    return to_digital_link(text) or text


def canonical_time(text: str) -> str:
    """UTC, millisecond precision, ``Z``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


# --- the event as a tree -----------------------------------------------------------------


def _expand_bare_terms(event: Mapping[str, Any]) -> dict[str, Any]:
    """Bare CBV terms in the standard fields as the URIs the EPCIS context expands them to."""
    out = dict(event)
    for field, web in _CBV_FIELDS.items():
        value = out.get(field)
        if isinstance(value, str) and re.fullmatch(r"[a-z_]+", value):
            out[field] = f"{CBV}{web}-{value}"
    if isinstance(out.get("persistentDisposition"), Mapping):
        out["persistentDisposition"] = {
            key: [_bare(v, "Disp") for v in values] if isinstance(values, list) else values
            for key, values in out["persistentDisposition"].items()
        }
    for field, key in (("sourceList", "type"), ("destinationList", "type")):
        out[field] = [_cbv_pair(item, key, "SDT") for item in out.get(field) or []]
    out["bizTransactionList"] = [
        _cbv_pair(item, "type", "BTT") for item in out.get("bizTransactionList") or []
    ]
    for field in _PAIR_LISTS:
        if not out[field]:
            del out[field]
    if out.get("sensorElementList"):
        out["sensorElementList"] = [
            {
                **element,
                "sensorReport": [_gs1_terms(r) for r in element.get("sensorReport") or []],
            }
            if isinstance(element, Mapping)
            else element
            for element in out["sensorElementList"]
        ]
    return out


def _bare(value: Any, web: str) -> Any:
    if isinstance(value, str) and re.fullmatch(r"[a-z_]+", value):
        return f"{CBV}{web}-{value}"
    return value


def _cbv_pair(item: Any, key: str, web: str) -> Any:
    if isinstance(item, Mapping) and isinstance(item.get(key), str):
        value = item[key]
        if re.fullmatch(r"[a-z_]+", value):
            return {**item, key: f"{CBV}{web}-{value}"}
    return item


def _gs1_terms(report: Any) -> Any:
    if not isinstance(report, Mapping):
        return report
    out = dict(report)
    if isinstance(out.get("component"), str):
        out["component"] = _bare(out["component"], "Comp")
    for key in ("type", "exception"):
        value = out.get(key)
        if isinstance(value, str):
            if value.startswith("gs1:"):
                out[key] = GS1_VOC + value[4:]
            elif re.fullmatch(r"[A-Za-z_]+", value):
                out[key] = GS1_VOC + value
    return out


def _name(key: str, namespaces: Mapping[str, str]) -> str:
    prefix, sep, local = key.partition(":")
    if sep and prefix in namespaces:
        return "{" + namespaces[prefix] + "}" + local
    return key


def _scalar(value: Any, namespaces: Mapping[str, str]) -> str:
    text = str(value)
    prefix, sep, local = text.partition(":")
    if sep and prefix in namespaces:
        return namespaces[prefix] + local
    return text


def _tree(value: Any, namespaces: Mapping[str, str]) -> Node:
    if isinstance(value, list):
        return ("", "", [_tree(v, namespaces) for v in value])
    if not isinstance(value, Mapping):
        return ("", _scalar(value, namespaces), [])
    children: list[Any] = []
    for key, inner in value.items():
        if key in ("#text", "rdfs:comment", "comment") or key.startswith("@"):
            continue
        child = _tree(inner, namespaces)
        name = _name(key, namespaces)
        if isinstance(inner, list):
            children.extend((name, text, kids) for _, text, kids in child[2])
        else:
            children.append((name, child[1], child[2]))
    if not any(k in value for k in _UNSORTED_KEYS):
        children.sort()
    return (str(value.get("type", "")), str(value.get("#text", "")), children)


def _restructure(node: Node) -> Node:
    """The JSON shape mapped onto the XML one the algorithm is written for (epcList/epc ...)."""
    children = list(node[2])
    lists: dict[str, list[Node]] = {}
    for child in [c for c in children if isinstance(c[0], str) and c[0].endswith("List")]:
        lists.setdefault(child[0], []).append((child[0][:-4], child[1], child[2]))
        children.remove(child)
    for list_name, elements in lists.items():
        if list_name in _PAIR_LISTS:
            children.append((list_name, "", [(e[2][0], e[2][1]) for e in elements]))
        else:
            children.append((list_name, "", elements))
    epcs: list[Node] = [("epc", c[1], []) for c in children if c[0] == "childEPCs"]
    if epcs:
        children = [c for c in children if c[0] != "childEPCs"] + [("childEPCs", "", epcs)]
    fixed = [c if c[0] in _PAIR_LISTS else _restructure(c) for c in children]
    name = node[0]
    if name in ("inputEPC", "outputEPC"):
        name = "epc"
    elif name in ("inputQuantity", "outputQuantity", "childQuantity") or (
        name == "quantity" and fixed
    ):
        name = "quantityElement"
    return (name, node[1], fixed)


# --- the pre-hash string -----------------------------------------------------------------


def _is_extension(name: Any) -> bool:
    return isinstance(name, str) and "{" in name and "/}" in name


def _element(child: Node, order: Any) -> str:
    inner = _ordered(child[2], order) if order else ""
    text = child[1].strip() if child[1] else ""
    if text:
        lowered = child[0].lower()
        text = (
            canonical_time(text)
            if "time" in lowered and "offset" not in lowered
            else (canonical_value(text))
        )
        text = "=" + text if text else ""
    return child[0] + text + inner if (text or inner) else ""


def _ordered(children: list[Any], order: list[tuple[Any, Any]]) -> str:
    extensions: list[Any] = []
    if len(children) > 1 and not any(
        "eventTime" in c[0] or "action" in c[0] for c in children if isinstance(c[0], str)
    ):
        extensions = [c for c in children if isinstance(c, tuple) and _is_extension(c[0])]
        for c in extensions:
            children.remove(c)
    out = ""
    for name, sub_order in order:
        values = []
        for child in [c for c in children if c[0] == name]:
            text = _element(child, sub_order)
            if text:
                values.append(text)
            if not child[2]:
                children.remove(child)
        values.sort()
        if "".join(values):
            out = "".join([out, *values])
    if extensions:
        out += _generic(extensions)
    return out


def _generic(children: list[Any]) -> str:
    values = []
    for child in children:
        if len(child) == 2 and isinstance(child[0], tuple):
            values.append(_generic(list(child)))
            continue
        text = child[1].strip()
        if text:
            text = "=" + canonical_value(text)
        values.append(child[0] + text + _generic(child[2]))
    if len(children) > 1 and not any(c[0] in _UNSORTED_KEYS for c in children):
        values.sort()
    return "".join(values)


def prehash(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The canonical pre-hash string of one EPCIS 2.0 JSON event.

    ``namespaces`` maps the prefixes the document's ``@context`` declares ("farmgate") to their
    URIs, so an extension ``farmgate:plot`` is hashed by its full name.
    """
    tree = _restructure(_tree(_expand_bare_terms(event), namespaces or {}))
    children = list(tree[2])
    ordered = _ordered(children, PROP_ORDER)
    rest = [c for c in children if c[0] not in _IGNORED]
    return f"eventType={event.get('type', '')}{ordered}{_generic(rest) if rest else ''}"


def event_hash(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The event's CBV 2.0 hash ID: ``ni:///sha-256;<hex>?ver=CBV2.0``."""
    digest = hashlib.sha256(prehash(event, namespaces).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def namespaces(document: Mapping[str, Any]) -> dict[str, str]:
    """The prefixes an EPCIS document's ``@context`` declares (inline objects only)."""
    context = document.get("@context")
    out: dict[str, str] = {}
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, Mapping):
            out.update({k: v for k, v in entry.items() if isinstance(v, str)})
    return out


def document_hashes(document: Mapping[str, Any]) -> list[str]:
    """The hash ID of every event in an EPCIS document, in document order."""
    body = document.get("epcisBody") or {}
    events = body.get("eventList") or ([body["event"]] if "event" in body else [])
    spaces = namespaces(document)
    return [event_hash(e, spaces) for e in events]
