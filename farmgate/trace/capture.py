"""EPCIS capture from partners, and the small query over what was captured.

A partner (a processor that dries the chilli, the post office that carries it) sends EPCIS 2.0
JSON documents with its own API key. A document is checked against GS1's schema as a whole
(nothing of a bad document is stored), then each event is stored as sent, keyed by its
``eventID`` (the CBV 2.0 event hash when the partner gave none), so sending a document twice
stores it once. The identifiers an event names (EPCs, EPC classes, parent and input/output
ids) are kept in their canonical Digital Link form, so a lot's story finds the partner events
that name it, whatever spelling (EPC URN, Digital Link on any host) the partner used.

Keys: ``fgp_`` + 32 random URL-safe characters, shown once when created; only their SHA-256
is stored (the key has 190 bits of entropy, so a fast hash is the right one).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.errors import AuthenticationRequired, FarmgateError, NotFound, ValidationFailed
from farmgate.gs1 import epcis_schema, event_hash
from farmgate.gs1.digital_link import InvalidDigitalLink, parse
from farmgate.models import Batch, CapturedEvent, CapturedEventKey, EpcisPartner

KEY_PREFIX = "fgp_"
PARTNER_KINDS = {"processor": "加工企业", "post_office": "邮政", "other": "合作伙伴"}
MAX_EVENTS = 500
_ID_FIELDS = ("epcList", "inputEPCList", "outputEPCList", "childEPCs")
_CLASS_FIELDS = ("quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList")


class CaptureRejected(FarmgateError):
    """A document that is not valid EPCIS 2.0: the schema's errors travel with it."""

    status = 400
    code = "invalid_epcis"

    def __init__(self, message: str, problems: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.problems = problems


# --- partners and their keys -------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_partner(
    session: Session, name: str, kind: str = "processor"
) -> tuple[EpcisPartner, str]:
    """A new partner and its key (returned once; only its hash is kept)."""
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationFailed("请填写合作伙伴名称（60 字以内）", fields={"name": "必填"})
    if kind not in PARTNER_KINDS:
        raise ValidationFailed("合作伙伴类型无效", fields={"kind": "、".join(PARTNER_KINDS)})
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    partner = EpcisPartner(name=name, kind=kind, key_prefix=key[:12], key_hash=_digest(key))
    session.add(partner)
    session.flush()
    return partner, key


def revoke_partner(session: Session, partner_id: int) -> EpcisPartner:
    partner = session.get(EpcisPartner, partner_id)
    if partner is None:
        raise NotFound("合作伙伴不存在")
    partner.active = False
    session.add(partner)
    session.flush()
    return partner


def authenticate(session: Session, key: str | None) -> EpcisPartner:
    """The active partner holding ``key``; AuthenticationRequired (401) otherwise."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        raise AuthenticationRequired("需要有效的合作伙伴 API 密钥", code="invalid_api_key")
    partner = session.scalars(
        select(EpcisPartner).where(col(EpcisPartner.key_hash) == _digest(key))
    ).first()
    if partner is None or not partner.active:
        raise AuthenticationRequired("需要有效的合作伙伴 API 密钥", code="invalid_api_key")
    return partner


# --- capture -----------------------------------------------------------------------------


def _identifiers(event: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for name in _ID_FIELDS:
        found.extend(str(v) for v in event.get(name) or [] if isinstance(v, str))
    for name in _CLASS_FIELDS:
        found.extend(
            str(q["epcClass"])
            for q in event.get(name) or []
            if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str)
        )
    if isinstance(event.get("parentID"), str):
        found.append(event["parentID"])
    return found


def canonical_epc(identifier: str) -> str:
    """An identifier in the canonical Digital Link form (unchanged if it is no GS1 key)."""
    return event_hash.to_digital_link(identifier) or identifier


def _key_row(captured_id: int, identifier: str) -> CapturedEventKey:
    epc = canonical_epc(identifier)
    gtin = lot = ""
    try:
        link = parse(epc)
    except InvalidDigitalLink:
        pass
    else:
        gtin, lot = link.gtin, link.lot or ""
    return CapturedEventKey(captured_event_id=captured_id, epc=epc[:300], gtin=gtin, lot=lot[:20])


def _events_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    body = document.get("epcisBody") or {}
    if "eventList" in body:
        return list(body["eventList"])
    return [body["event"]] if "event" in body else []


@dataclass(frozen=True)
class CaptureResult:
    stored: list[str]  # eventIDs newly stored
    duplicates: list[str]  # eventIDs this partner had sent before


def capture(session: Session, partner: EpcisPartner, document: Any) -> CaptureResult:
    """Validate ``document`` and store its events for ``partner`` (all or nothing)."""
    if not isinstance(document, Mapping):
        raise CaptureRejected(
            "请求体应为 EPCIS 2.0 JSON 文档", [{"path": "/", "message": "not an object"}]
        )
    problems = epcis_schema.errors(document)
    if problems:
        raise CaptureRejected("EPCIS 文档未通过 GS1 模式校验", problems)
    events = _events_of(document)
    if len(events) > MAX_EVENTS:
        raise CaptureRejected(
            f"一次最多提交 {MAX_EVENTS} 个事件",
            [{"path": "/epcisBody/eventList", "message": f"more than {MAX_EVENTS} events"}],
        )
    partner.last_used_at = utcnow()
    session.add(partner)
    spaces = event_hash.namespaces(document)
    # The document's own prefixes travel with each event, so it still reads the same alone.
    context = document.get("@context")
    inline = [
        c for c in (context if isinstance(context, list) else [context]) if isinstance(c, dict)
    ]
    stored: list[str] = []
    duplicates: list[str] = []
    for event in events:
        event_id = str(event.get("eventID") or event_hash.event_hash(event, spaces))[:300]
        exists = session.scalars(
            select(col(CapturedEvent.id)).where(
                col(CapturedEvent.partner_id) == partner.id,
                col(CapturedEvent.event_id) == event_id,
            )
        ).first()
        if exists is not None or event_id in stored:
            duplicates.append(event_id)
            continue
        row = CapturedEvent(
            partner_id=pk(partner),
            event_id=event_id,
            event_type=str(event.get("type", ""))[:30],
            event_time=datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00")),
            biz_step=str(event.get("bizStep", ""))[:200],
            body={**event, "eventID": event_id, **({"@context": inline} if inline else {})},
        )
        session.add(row)
        session.flush()
        for identifier in dict.fromkeys(_identifiers(event)):
            session.add(_key_row(pk(row), identifier))
        stored.append(event_id)
    session.flush()
    return CaptureResult(stored, duplicates)


# --- reading -----------------------------------------------------------------------------


def query(
    session: Session,
    *,
    epc: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[CapturedEvent]:
    """Captured events naming ``epc`` (any spelling; a lot's class matches its lot), of a type,
    with eventTime in [since, until)."""
    statement = select(CapturedEvent)
    if epc:
        canonical = canonical_epc(epc)
        keys = select(col(CapturedEventKey.captured_event_id)).where(
            col(CapturedEventKey.epc) == canonical
        )
        try:
            link = parse(canonical)
        except InvalidDigitalLink:
            link = None
        if link is not None and link.lot and not link.serial:
            # A lot: also the events that name one of its units.
            keys = select(col(CapturedEventKey.captured_event_id)).where(
                (col(CapturedEventKey.epc) == canonical)
                | (
                    (col(CapturedEventKey.gtin) == link.gtin)
                    & (col(CapturedEventKey.lot) == link.lot)
                )
            )
        statement = statement.where(col(CapturedEvent.id).in_(keys))
    if event_type:
        statement = statement.where(col(CapturedEvent.event_type) == event_type)
    if since is not None:
        statement = statement.where(col(CapturedEvent.event_time) >= since)
    if until is not None:
        statement = statement.where(col(CapturedEvent.event_time) < until)
    statement = statement.order_by(col(CapturedEvent.event_time), col(CapturedEvent.id))
    return list(session.scalars(statement.limit(max(1, min(limit, 1000)))))


def for_batch(session: Session, batch: Batch) -> list[dict[str, Any]]:
    """The partner events that name this lot (or its units), for its story, with the sender."""
    ids = select(col(CapturedEventKey.captured_event_id)).where(
        col(CapturedEventKey.gtin) == batch.gtin, col(CapturedEventKey.lot) == batch.lot_code
    )
    rows = session.execute(
        select(CapturedEvent, EpcisPartner)
        .join(EpcisPartner, col(EpcisPartner.id) == col(CapturedEvent.partner_id))
        .where(col(CapturedEvent.id).in_(ids))
        .order_by(col(CapturedEvent.event_time), col(CapturedEvent.id))
        .limit(100)
    ).all()
    return [
        {
            "time": event.event_time,
            "partner": partner.name,
            "partner_kind": PARTNER_KINDS.get(partner.kind, partner.kind),
            "type": event.event_type,
            "step": step_label(event.biz_step),
            "event_id": event.event_id,
        }
        for event, partner in rows
    ]


STEP_LABELS = {
    "receiving": "收货",
    "shipping": "发货",
    "departing": "出发",
    "arriving": "到达",
    "transporting": "运输中",
    "commissioning": "加工产出",
    "packing": "包装",
    "storing": "入库",
    "inspecting": "检验",
    "retail_selling": "售出",
    "accepting": "签收",
    "loading": "装车",
    "unloading": "卸货",
}


def step_label(biz_step: str) -> str:
    short = biz_step.rsplit("-", 1)[-1].rsplit(":", 1)[-1] if biz_step else ""
    return STEP_LABELS.get(short, short or "记录")


def query_document(events: Iterable[CapturedEvent], created: datetime) -> dict[str, Any]:
    """An EPCISQueryDocument of ``events`` as their partners sent them."""
    from farmgate.gs1.epcis import CONTEXT, timestamp

    bodies: Sequence[dict[str, Any]] = [dict(e.body) for e in events]
    return {
        "@context": [CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": timestamp(created),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": list(bodies)},
            }
        },
    }
