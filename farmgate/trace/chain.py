"""The hash chain that makes a batch's trace events tamper-evident.

Each event's hash is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of its
batch identity, sequence number, kind, event time (when it happened), record time (when it was
entered), data and the previous event's hash. Changing any stored field, deleting an event or
reordering events breaks the chain from that point on, and ``verify`` says where. The batch row
keeps the chain's length and head hash as of the last append, so deleting the *last* events
(which leaves a shorter chain that still links up) is noticed too; the transparency log is the
check that does not depend on this database at all. Events are only ever appended; a
correction is a new event that points at the one it corrects (EPCIS's errorDeclaration idea).

This proves the platform's records were not altered *behind the application's back* (a direct
database edit, a restored old backup); it is not a defence against the platform itself. The
head hash of every batch is in its EPCIS export, so a buyer who keeps an export can later
prove that the history they were shown has not been rewritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.models import Batch, TraceEvent

GENESIS = "0" * 64

# The demo's clock (farmgate/demo/): when set, events are recorded as of this moment instead of
# now. Nothing that serves a request sets it; see ``recording_as_of``.
_recording_as_of: ContextVar[datetime | None] = ContextVar("recording_as_of", default=None)


@contextmanager
def recording_as_of(moment: datetime) -> Iterator[None]:
    """Record the events appended inside as if they had been entered at ``moment`` (at their
    event time if that is later), for the demo seed only: it builds a history weeks long in one
    go, and without this every sample event would be marked 补录 (late entry).

    Internal: no delivery layer, job or service calls it, so a record time stays the server's
    clock in every real flow (tests/test_demo.py checks who uses it). A moment in the future is
    refused: it could never hide lateness, only invent it."""
    if moment.tzinfo is None:
        raise ValueError("recording_as_of needs a timezone-aware moment")
    if moment > utcnow():
        raise ValueError("recording_as_of cannot record in the future")
    token = _recording_as_of.set(moment.replace(microsecond=0))
    try:
        yield
    finally:
        _recording_as_of.reset(token)


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _time(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands naive UTC back through some paths
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def event_content(
    batch: Batch,
    seq: int,
    kind: str,
    at: datetime,
    data: Any,
    prev: str,
    *,
    recorded: datetime | None = None,
) -> dict[str, Any]:
    """What an event's hash covers (and, with the hash, its transparency-log entry).

    ``recorded`` (the record time) is part of it for every event the platform appends, so
    moving an entry's record time to hide that it was late breaks it. Events recorded before
    that rule (2026-12-05) were hashed without it (``matches`` accepts either form)."""
    content = {
        "batch": {"cooperative": batch.cooperative_id, "gtin": batch.gtin, "lot": batch.lot_code},
        "seq": seq,
        "kind": kind,
        "time": _time(at),
        "data": data,
        "prev": prev,
    }
    if recorded is not None:
        content["recorded"] = _time(recorded)
    return content


def event_hash(
    batch: Batch,
    seq: int,
    kind: str,
    at: datetime,
    data: Any,
    prev: str,
    *,
    recorded: datetime | None = None,
) -> str:
    content = event_content(batch, seq, kind, at, data, prev, recorded=recorded)
    return hashlib.sha256(canonical_json(content)).hexdigest()


def log_entry(batch: Batch, event: TraceEvent) -> dict[str, Any]:
    """The event as the transparency log holds it: its stored fields as hashed, plus the stored
    hash (farmgate/translog/; the leaf is this object's canonical JSON)."""
    return entry_of(
        batch,
        event.seq,
        event.kind,
        event.event_time,
        event.data,
        event.prev_hash,
        event.hash,
        event.recorded_at,
    )


def entry_of(
    batch: Batch,
    seq: int,
    kind: str,
    at: datetime,
    data: Any,
    prev: str,
    hash_: str,
    recorded: datetime,
) -> dict[str, Any]:
    """``log_entry`` from the event's columns (the log reads them without loading rows)."""
    content = event_content(batch, seq, kind, at, data, prev, recorded=recorded)
    if _digest(content) != hash_:
        legacy = event_content(batch, seq, kind, at, data, prev)
        if _digest(legacy) == hash_:  # recorded before record times were hashed
            content = legacy
    return {**content, "hash": hash_}


def matches(batch: Batch, event: TraceEvent, prev: str) -> bool:
    """Does the event's stored hash cover its stored fields (with its record time; or, for an
    event recorded before record times were hashed, without)?"""
    fields = (batch, event.seq, event.kind, event.event_time, event.data, prev)
    if event_hash(*fields, recorded=event.recorded_at) == event.hash:
        return True
    # An older event: its record time is not covered (rewriting a newer event into this form
    # means recomputing the rest of the chain, which the transparency log exposes).
    return event_hash(*fields) == event.hash


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def append(
    session: Session,
    batch: Batch,
    kind: str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
    actor_id: int | None = None,
) -> TraceEvent:
    """Add the next event of ``batch``'s chain (the batch row is locked while it is added).

    ``at`` is the event time (when it happened, as the person or device says), the record
    time is now (in the demo seed: see ``recording_as_of``)."""
    session.get(Batch, batch.id, with_for_update=True)
    last = session.scalars(
        select(TraceEvent)
        .where(col(TraceEvent.batch_id) == batch.id)
        .order_by(col(TraceEvent.seq).desc())
        .limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    as_of = _recording_as_of.get()
    recorded = (as_of or utcnow()).replace(microsecond=0)
    when = (at or recorded).replace(microsecond=0)
    if as_of is not None:  # the demo's history: entered when it happened, never before
        recorded = max(recorded, when)
    # Store exactly what was hashed: JSON in, JSON out (no Decimals, no datetimes).
    data = json.loads(canonical_json(data))
    event = TraceEvent(
        batch_id=pk(batch),
        seq=seq,
        kind=kind,
        event_time=when,
        data=data,
        actor_account_id=actor_id,
        recorded_at=recorded,
        prev_hash=prev,
        hash=event_hash(batch, seq, kind, when, data, prev, recorded=recorded),
    )
    session.add(event)
    batch.chain_length, batch.chain_head = seq, event.hash
    session.add(batch)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    events: int
    head: str  # the last event's stored hash
    broken_at: int | None = None  # the first sequence number that does not verify
    reason: str = ""


def verify(
    session: Session, batch: Batch, events: Sequence[TraceEvent] | None = None
) -> ChainReport:
    """Recompute every hash of ``batch``'s chain from the stored fields (``events``: the chain
    already loaded in sequence order, to save reading it twice)."""
    if events is None:
        events = session.scalars(
            select(TraceEvent)
            .where(col(TraceEvent.batch_id) == batch.id)
            .order_by(col(TraceEvent.seq))
        ).all()
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainReport(False, len(events), events[-1].hash, expected_seq, "事件缺失")
        if event.prev_hash != prev:
            return ChainReport(False, len(events), events[-1].hash, event.seq, "链接断开")
        if not matches(batch, event, prev):
            return ChainReport(False, len(events), events[-1].hash, event.seq, "内容被改动")
        prev = event.hash
    if batch.chain_length != len(events) or (events and batch.chain_head != prev):
        # A shorter chain that links up: its last events were deleted (or the batch row's
        # record of the head was edited, which is as much a sign of tampering).
        missing = min(batch.chain_length, len(events)) + 1
        return ChainReport(False, len(events), prev, missing, "之后的记录缺失")
    return ChainReport(True, len(events), prev)
