"""EPCIS 2.0 JSON-LD documents from neutral event records, with CBV 2.0 vocabulary.

``document(events, created=...)`` turns ``Event`` dataclasses into an ``EPCISDocument`` that
validates against GS1's EPCIS 2.0 JSON Schema (tests/test_epcis.py proves it). The builder is
pure: no database, no settings. Conventions it follows:

- Event times keep their own UTC offset, written again as ``eventTimeZoneOffset`` ("+08:00").
  Naive datetimes are refused. Events are ordered by instant (stable for ties).
- CBV 2.0 terms are written as bare short names (``shipping``, ``in_transit``,
  ``possessing_party``, ``po``, ``incorrect_data``), as EPCIS 2.0 JSON-LD allows; CBV URIs
  (``urn:epcglobal:cbv:bizstep:shipping``, ``https://ref.gs1.org/cbv/BizStep-shipping``) are
  shortened to them. A term that is not CBV must be a URI outside CBV's namespaces, e.g.
  ``farmgate:harvesting``: a bare "harvesting" is refused, as the schema refuses it.
- Sensor reports use the GS1 measurement types (``Temperature``; ``gs1:Temperature`` is
  shortened) and UN/CEFACT Rec 20 unit codes, upper case (``CEL``, ``KGM``), which the schema
  does not check for sensor reports: the builder does.
- Top-level ILMD and extension keys must be prefixed names (``farmgate:plot``,
  ``cbvmda:lotNumber``) or absolute http(s) URIs (nested keys are left alone); ``@context``
  declares ``farmgate`` (at ``vocabulary_base``) only: ``cbvmda`` comes from the EPCIS context,
  whose terms are protected. ILMD goes on ADD
  object events (and transformations) only. Dates in them become ISO strings.

Events without an ``event_id`` get the CBV 2.0 event hash (farmgate/gs1/event_hash.py) as their
``eventID``, computed over the event as written with the document's namespaces; an error
declaration does not change it, so a declared event keeps the ID of the event it declares wrong.

The database layer maps its own records onto ``Event``; this module never reads it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from farmgate.gs1.event_hash import event_hash

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DEFAULT_VOCABULARY = "https://example.org/ns/"


class EpcisError(ValueError):
    """An event that cannot be written as valid EPCIS 2.0 (a mapping bug, not user input)."""


# --- vocabularies (CBV 2.0 and the GS1 Web Vocabulary) -----------------------------------

_CBV_BASES = (
    *(f"{s}://{h}.gs1.org/cbv/" for s in ("https", "http") for h in ("ref", "ns")),
    "cbv:",
)
_CBV_SPACES = ("urn:epcglobal:cbv", *_CBV_BASES)
_GS1_SPACES = ("gs1:", *(f"{s}://{w}gs1.org/voc/" for s in ("https", "http") for w in ("", "www.")))
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_PREFIXED_KEY = re.compile(r"(?:farmgate|cbvmda):[A-Za-z_][A-Za-z0-9_.\-]*|https?://\S+")


def _terms(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Vocabulary:
    """One closed list of standard terms: bare names, their URI spellings, or a private URI."""

    what: str
    names: frozenset[str]
    aliases: tuple[str, ...]  # URI prefixes that spell the same term, e.g. "...:bizstep:"
    spaces: tuple[str, ...]  # namespaces where only the listed terms exist

    def __call__(self, value: str) -> str:
        text = (value or "").strip()
        if text in self.names:
            return text
        for prefix in self.aliases:
            if text.startswith(prefix) and text[len(prefix) :] in self.names:
                return text[len(prefix) :]
        if text.startswith(self.spaces):
            raise EpcisError(f"{value!r} is not a {self.what} of the standard vocabulary")
        if not _URI.fullmatch(text):
            raise EpcisError(
                f"{value!r} is neither a standard {self.what} nor a URI "
                f"(write a private term as a URI, e.g. 'farmgate:{text or 'term'}')"
            )
        return text


def _cbv(what: str, names: str, urn: str, web: str) -> Vocabulary:
    aliases = (f"urn:epcglobal:cbv:{urn}:", *(f"{base}{web}-" for base in _CBV_BASES))
    return Vocabulary(what, _terms(names), aliases, _CBV_SPACES)


BIZ_STEP = _cbv(
    "bizStep",
    """
    accepting arriving assembling collecting commissioning consigning creating_class_instance
    cycle_counting decommissioning departing destroying disassembling dispensing encoding
    entering_exiting holding inspecting installing killing loading other packing picking
    receiving removing repackaging repairing replacing reserving retail_selling sampling
    sensor_reporting shipping staging_outbound stock_taking stocking storing transporting
    unloading unpacking void_shipping""",
    "bizstep",
    "BizStep",
)
DISPOSITION = _cbv(
    "disposition",
    """
    active available completeness_inferred completeness_verified conformant container_closed
    container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit
    inactive mismatch_class mismatch_instance mismatch_quantity needs_replacement
    no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved
    retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable
    unknown""",
    "disp",
    "Disp",
)
SOURCE_DEST_TYPE = _cbv(
    "source/destination type", "owning_party possessing_party location", "sdt", "SDT"
)
BIZ_TRANSACTION_TYPE = _cbv(
    "bizTransaction type",
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt",
    "btt",
    "BTT",
)
ERROR_REASON = _cbv("error reason", "did_not_occur incorrect_data", "er", "ER")
MEASUREMENT_TYPE = Vocabulary(
    "measurement type",
    _terms("""
    AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude
    AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum
    AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless
    DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent
    ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance
    Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux
    LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass
    MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy
    MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity
    Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension
    Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux
    Wavenumber"""),
    _GS1_SPACES,
    _GS1_SPACES,
)
SENSOR_ALERT = Vocabulary(
    "sensor alert", _terms("ALARM_CONDITION ERROR_CONDITION"), _GS1_SPACES, _GS1_SPACES
)


# --- the neutral input -------------------------------------------------------------------


@dataclass(frozen=True)
class QuantityElement:
    epc_class: str  # a class-level id: GS1 Digital Link with a lot, or urn:epc:class:lgtin:...
    quantity: float | Decimal | None = None
    uom: str | None = None  # UN/CEFACT Rec 20, e.g. "KGM"; absent = a count of pieces


@dataclass(frozen=True)
class SensorReport:
    """One sensorElement: its metadata and one report (a single value or a summary)."""

    type: str = "Temperature"
    value: float | None = None
    min_value: float | None = None
    max_value: float | None = None
    mean_value: float | None = None
    uom: str | None = "CEL"
    exception: str | None = None  # "ALARM_CONDITION" / "ERROR_CONDITION"
    time: datetime | None = None  # a single reading's time
    start_time: datetime | None = None  # the span a summary covers
    end_time: datetime | None = None
    device_id: str | None = None  # a URI in a document


@dataclass(frozen=True)
class ErrorDeclaration:
    declaration_time: datetime
    reason: str | None = "incorrect_data"  # or "did_not_occur"
    corrective_event_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Event:
    event_id: str | None = None  # a URI; None = the CBV 2.0 event hash ("ni:///sha-256;...")
    event_time: datetime
    record_time: datetime | None = None
    kind: Literal["object", "transformation"] = "object"
    action: Literal["ADD", "OBSERVE", "DELETE"] | None = None  # object events; None = OBSERVE
    biz_step: str | None = None
    disposition: str | None = None
    read_point: str | None = None
    biz_location: str | None = None
    epcs: tuple[str, ...] = ()  # instance-level ids (one serial per unit), object events
    quantities: tuple[QuantityElement, ...] = ()  # object events
    inputs: tuple[QuantityElement, ...] = ()  # transformation events
    outputs: tuple[QuantityElement, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()  # (type, id URI)
    destinations: tuple[tuple[str, str], ...] = ()
    biz_transactions: tuple[tuple[str, str], ...] = ()  # (type, id URI)
    ilmd: Mapping[str, Any] | None = None
    sensor_reports: tuple[SensorReport, ...] = ()
    error_declaration: ErrorDeclaration | None = None
    transformation_id: str | None = None  # one id for all the parts of one transformation
    certification_info: tuple[str, ...] = ()  # URIs of the certificates/reports behind it
    extensions: Mapping[str, Any] | None = None  # extra "farmgate:..." fields


# --- rendering ---------------------------------------------------------------------------


def _aware(value: datetime, what: str) -> datetime:
    # Checked at runtime as well: documents are built from stored JSON, not only typed code.
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:  # type: ignore[redundant-expr]
        raise EpcisError(f"{what} must be a timezone-aware datetime, not {value!r}")
    return value


def timestamp(value: datetime, what: str = "time") -> str:
    """RFC 3339 in the datetime's own offset, milliseconds only when there are any."""
    value = _aware(value, what)
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")


def zone_offset(value: datetime) -> str:
    """The datetime's own UTC offset as EPCIS writes it: "+08:00"."""
    offset = _aware(value, "event_time").utcoffset()
    assert offset is not None
    seconds = int(offset.total_seconds())
    if seconds % 60 or abs(seconds) > 14 * 3600:
        raise EpcisError(f"UTC offset {offset} cannot be written as ±hh:mm within ±14:00")
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _uri(value: str, what: str) -> str:
    if not isinstance(value, str) or not _URI.fullmatch(value):  # type: ignore[redundant-expr]
        raise EpcisError(f"{what} must be an absolute URI, not {value!r}")
    return value


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise EpcisError(f"{what} must be a number, not {value!r}")
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise EpcisError(f"{what} must be finite, not {value!r}")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _uom(value: str, what: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{2,3}", value or ""):
        raise EpcisError(f"{what} {value!r} is not a UN/CEFACT Rec 20 code (e.g. KGM, CEL)")
    return value


def _json(value: Any, what: str) -> Any:
    """ILMD and extension values as JSON: dates in ISO form, Decimals as numbers."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int | float | Decimal):
        return _number(value, what)
    if isinstance(value, datetime):
        return timestamp(value, what)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json(v, f"{what}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v, what) for v in value]
    raise EpcisError(f"{what} holds {type(value).__name__}, which has no JSON form")


def _fields(values: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if not _PREFIXED_KEY.fullmatch(key):
            raise EpcisError(f"{what} key {key!r} must be 'farmgate:…', 'cbvmda:…' or a URI")
        out[key] = _json(value, f"{what} {key}")
    return out


def _quantity(element: QuantityElement) -> dict[str, Any]:
    out: dict[str, Any] = {"epcClass": _uri(element.epc_class, "epc_class")}
    if element.quantity is not None:
        out["quantity"] = _number(element.quantity, f"quantity of {element.epc_class}")
    if element.uom is not None:
        if element.quantity is None:
            raise EpcisError(f"uom without a quantity for {element.epc_class}")
        out["uom"] = _uom(element.uom, "quantity uom")
    return out


def _sensor_element(report: SensorReport) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for name, at in (
        ("time", report.time),
        ("startTime", report.start_time),
        ("endTime", report.end_time),
    ):
        if at is not None:
            metadata[name] = timestamp(at, f"sensor {name}")
    if report.start_time and report.end_time and report.start_time > report.end_time:
        raise EpcisError("a sensor report cannot end before it starts")
    if report.device_id is not None:
        metadata["deviceID"] = _uri(report.device_id, "sensor device_id")
    out: dict[str, Any] = {"type": MEASUREMENT_TYPE(report.type)}
    for name, value in (
        ("value", report.value),
        ("minValue", report.min_value),
        ("maxValue", report.max_value),
        ("meanValue", report.mean_value),
    ):
        if value is not None:
            out[name] = _number(value, f"sensor {name}")
    if "minValue" in out and "maxValue" in out and out["minValue"] > out["maxValue"]:
        raise EpcisError("a sensor report's minValue is above its maxValue")
    if report.uom is not None:
        out["uom"] = _uom(report.uom, "sensor uom")
    if report.exception is not None:
        out["exception"] = SENSOR_ALERT(report.exception)
    element: dict[str, Any] = {"sensorMetadata": metadata} if metadata else {}
    element["sensorReport"] = [out]
    return element


def _parties(pairs: Iterable[tuple[str, str]], key: str) -> list[dict[str, str]]:
    return [{"type": SOURCE_DEST_TYPE(kind), key: _uri(ref, key)} for kind, ref in pairs]


def hash_namespaces(vocabulary_base: str = DEFAULT_VOCABULARY) -> dict[str, str]:
    """The prefixes a document of ``document()`` declares, as the event hash expands them."""
    return {"farmgate": vocabulary_base}


def hashed_id(event: Event, vocabulary_base: str = DEFAULT_VOCABULARY) -> str:
    """The event's CBV 2.0 hash ID (what ``event_dict`` writes when ``event_id`` is None)."""
    return str(event_dict(event, vocabulary_base)["eventID"])


def event_dict(event: Event, vocabulary_base: str = DEFAULT_VOCABULARY) -> dict[str, Any]:
    """One event in EPCIS 2.0 JSON (raises ``EpcisError`` for what the standard forbids)."""
    out: dict[str, Any] = {
        "type": "ObjectEvent" if event.kind == "object" else "TransformationEvent",
        "eventTime": timestamp(event.event_time, "event_time"),
        "eventTimeZoneOffset": zone_offset(event.event_time),
    }
    if event.record_time is not None:
        out["recordTime"] = timestamp(event.record_time, "record_time")
    if event.event_id is not None:
        out["eventID"] = _uri(event.event_id, "event_id")
    if event.certification_info:
        infos = [_uri(c, "certification_info") for c in event.certification_info]
        out["certificationInfo"] = infos[0] if len(infos) == 1 else infos
    if event.error_declaration is not None:
        declared = event.error_declaration
        error: dict[str, Any] = {
            "declarationTime": timestamp(declared.declaration_time, "declaration_time")
        }
        if declared.reason is not None:
            error["reason"] = ERROR_REASON(declared.reason)
        if declared.corrective_event_ids:
            error["correctiveEventIDs"] = [
                _uri(i, "corrective event id") for i in declared.corrective_event_ids
            ]
        out["errorDeclaration"] = error
    if event.kind == "object":
        if event.inputs or event.outputs:
            raise EpcisError(f"object event {event.event_id} has transformation inputs/outputs")
        if not (event.epcs or event.quantities or (event.sensor_reports and event.read_point)):
            raise EpcisError(
                f"object event {event.event_id} needs epcs, quantities, "
                "or sensor reports with a read point"
            )
        action = event.action or "OBSERVE"
        if event.ilmd and action != "ADD":
            raise EpcisError(f"ILMD belongs to ADD events; {event.event_id} is {action}")
        if event.epcs:
            out["epcList"] = [_uri(epc, "epc") for epc in event.epcs]
        if event.quantities:
            out["quantityList"] = [_quantity(q) for q in event.quantities]
        out["action"] = action
    elif event.kind == "transformation":
        if event.action is not None or event.epcs or event.quantities:
            raise EpcisError(f"transformation {event.event_id} takes inputs/outputs only")
        if not (event.inputs or event.outputs):
            raise EpcisError(f"transformation {event.event_id} has neither inputs nor outputs")
        if event.inputs:
            out["inputQuantityList"] = [_quantity(q) for q in event.inputs]
        if event.outputs:
            out["outputQuantityList"] = [_quantity(q) for q in event.outputs]
        if event.transformation_id is not None:
            out["transformationID"] = _uri(event.transformation_id, "transformation_id")
    else:
        raise EpcisError(f"unknown event kind {event.kind!r}")
    if event.biz_step is not None:
        out["bizStep"] = BIZ_STEP(event.biz_step)
    if event.disposition is not None:
        out["disposition"] = DISPOSITION(event.disposition)
    if event.read_point is not None:
        out["readPoint"] = {"id": _uri(event.read_point, "read_point")}
    if event.biz_location is not None:
        out["bizLocation"] = {"id": _uri(event.biz_location, "biz_location")}
    if event.biz_transactions:
        out["bizTransactionList"] = [
            {"type": BIZ_TRANSACTION_TYPE(kind), "bizTransaction": _uri(ref, "bizTransaction")}
            for kind, ref in event.biz_transactions
        ]
    if event.sources:
        out["sourceList"] = _parties(event.sources, "source")
    if event.destinations:
        out["destinationList"] = _parties(event.destinations, "destination")
    if event.sensor_reports:
        out["sensorElementList"] = [_sensor_element(r) for r in event.sensor_reports]
    if event.ilmd:
        out["ilmd"] = _fields(event.ilmd, "ilmd")
    out.update(_fields(event.extensions, "extension"))
    if event.event_id is None:
        out["eventID"] = event_hash(out, hash_namespaces(vocabulary_base))
    return out


def document(
    events: Sequence[Event],
    *,
    created: datetime,
    sender: str | None = None,
    vocabulary_base: str = DEFAULT_VOCABULARY,
) -> dict[str, Any]:
    """An EPCISDocument of the events, in time order."""
    if not re.fullmatch(r"https?://[^\s#]+[/#]", vocabulary_base):
        raise EpcisError("vocabulary_base must be an http(s) URI ending in '/' or '#'")
    ordered = sorted(events, key=lambda e: _aware(e.event_time, "event_time"))
    body = [event_dict(e, vocabulary_base) for e in ordered]
    # ``cbvmda`` is a protected term of the EPCIS context: declaring it again would make the
    # document unprocessable as JSON-LD, so only our own prefix is declared.
    context: dict[str, str] = {"farmgate": vocabulary_base}
    out: dict[str, Any] = {
        "@context": [CONTEXT, context],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": timestamp(created, "created"),
    }
    if sender is not None:
        out["sender"] = sender
    out["epcisBody"] = {"eventList": body}
    return out


def json_dumps(doc: Mapping[str, Any], *, indent: int | None = None) -> str:
    """UTF-8-friendly JSON (Chinese stays readable); keys in the fixed order they are built."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=indent)
