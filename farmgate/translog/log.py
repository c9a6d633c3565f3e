"""Appending trace events to the log, and proving things about it from the stored hashes.

Events enter the log in ``integrate``: it locks the single ``translog_state`` row (SQLite's
writers queue on BEGIN IMMEDIATE already), takes trace events not yet logged in id order,
gives them the next leaf indices, stores their leaf hashes and every complete subtree they
finish, and moves the size on. One writer at a time, so the sequence has no gaps; a trace
event committed late (a lower id after a higher one) is simply logged in a later round.

Logging happens in rounds (``tasks.integrate`` every 30 s) rather than inside
``chain.append``: appending never waits on the log's lock (a transaction that appends to two
lots cannot deadlock with another), and a round logs thousands of events in a few statements.
An event is provable once its round ran: the log's maximum merge delay.

Proofs name their subtrees as leaf ranges (farmgate/verifier/merkle.py); each range is a few
stored complete subtrees, fetched in two queries per proof (or per lot).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import and_, exists, func, insert, or_, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.errors import NotFound
from farmgate.models import (
    Batch,
    TraceEvent,
    TranslogHead,
    TranslogLeaf,
    TranslogNode,
    TranslogState,
)
from farmgate.trace import chain
from farmgate.translog import keys
from farmgate.verifier import merkle, note
from farmgate.verifier.entries import entry_leaf_hash

ROUND = 5000  # events per integration statement batch


def _locked_size(session: Session) -> int:
    size = session.scalar(
        select(col(TranslogState.size)).where(col(TranslogState.id) == 1).with_for_update()
    )
    if size is None:  # an emptied database; two writers may get here at once
        session.execute(
            text("INSERT INTO translog_state (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING")
        )
        return _locked_size(session)
    return int(size)


def size(session: Session) -> int:
    """How many leaves the log has (read without a lock: a head at most this large exists)."""
    found = session.scalar(select(col(TranslogState.size)).where(col(TranslogState.id) == 1))
    return int(found or 0)


def _hashes(session: Session, parts: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    wanted = set(parts)
    leaves = [i for level, i in wanted if level == 0]
    nodes = [(level, i) for level, i in wanted if level > 0]
    found: dict[tuple[int, int], bytes] = {}
    if leaves:
        for idx, value in session.execute(
            select(col(TranslogLeaf.idx), col(TranslogLeaf.leaf_hash)).where(
                col(TranslogLeaf.idx).in_(leaves)
            )
        ):
            found[(0, idx)] = bytes(value)
    if nodes:
        # One "level = L AND idx IN (...)" per level, not a row-value IN: SQLite answers the
        # latter by scanning the whole table.
        by_level: dict[int, list[int]] = {}
        for level, i in nodes:
            by_level.setdefault(level, []).append(i)
        where = or_(
            *(
                and_(col(TranslogNode.level) == level, col(TranslogNode.idx).in_(ids))
                for level, ids in by_level.items()
            )
        )
        for level, idx, value in session.execute(
            select(col(TranslogNode.level), col(TranslogNode.idx), col(TranslogNode.hash)).where(
                where
            )
        ):
            found[(level, idx)] = bytes(value)
    missing = wanted - found.keys()
    if missing:
        raise RuntimeError(f"the log's stored subtrees are incomplete: {sorted(missing)[:5]}")
    return found


def _extend(session: Session, start: int, new: list[bytes]) -> list[dict[str, Any]]:
    """The complete subtrees that leaves ``start`` .. ``start + len(new) - 1`` finish."""
    rows: list[dict[str, Any]] = []
    level, lo, current = 0, start, new
    while current:
        hi = lo + len(current)
        first, end = lo // 2, hi // 2  # parents whose right child is new
        parents: list[bytes] = []
        for j in range(first, end):
            left_at = 2 * j
            if left_at >= lo:
                left = current[left_at - lo]
            else:  # the one older left sibling at this level
                left = _hashes(session, [(level, left_at)])[(level, left_at)]
            parents.append(merkle.node_hash(left, current[2 * j + 1 - lo]))
        level += 1
        rows.extend({"level": level, "idx": first + k, "hash": h} for k, h in enumerate(parents))
        lo, current = first, parents
    return rows


def integrate(session: Session, limit: int = ROUND) -> int:
    """Log up to ``limit`` trace events not yet logged; returns how many."""
    start = _locked_size(session)
    logged = exists().where(col(TranslogLeaf.event_id) == TraceEvent.id)
    # Columns, not rows: a big round must not fill the session with a million events.
    rows = session.execute(
        select(
            col(TraceEvent.id),
            col(TraceEvent.batch_id),
            col(TraceEvent.seq),
            col(TraceEvent.kind),
            col(TraceEvent.event_time),
            col(TraceEvent.data),
            col(TraceEvent.prev_hash),
            col(TraceEvent.hash),
            col(TraceEvent.recorded_at),
        )
        .where(~logged)
        .order_by(col(TraceEvent.id))
        .limit(limit)
    ).all()
    if not rows:
        return 0
    batches = {
        b.id: b
        for b in session.scalars(select(Batch).where(col(Batch.id).in_({r[1] for r in rows})))
    }
    hashes = [
        entry_leaf_hash(chain.entry_of(batches[batch_id], *fields)) for _, batch_id, *fields in rows
    ]
    session.execute(
        insert(TranslogLeaf),
        [
            {"idx": start + i, "event_id": row[0], "batch_id": row[1], "leaf_hash": h}
            for i, (row, h) in enumerate(zip(rows, hashes, strict=True))
        ],
    )
    nodes = _extend(session, start, hashes)
    if nodes:
        session.execute(insert(TranslogNode), nodes)
    session.execute(
        update(TranslogState).where(col(TranslogState.id) == 1).values(size=start + len(rows))
    )
    return len(rows)


def integrate_all(session: Session) -> int:
    total = 0
    while done := integrate(session):
        total += done
    return total


def _check_size(session: Session, wanted: int) -> int:
    current = size(session)
    if wanted < 0 or wanted > current:
        raise NotFound(
            "日志还没有这么多条记录", code="beyond_log", context={"size": wanted, "log": current}
        )
    return current


def _resolve(session: Session, ranges: list[merkle.Range]) -> list[bytes]:
    found = _hashes(session, (p for a, b in ranges for p in merkle.perfect_parts(a, b)))
    return [merkle.range_hash(a, b, lambda level, i: found[(level, i)]) for a, b in ranges]


def root(session: Session, tree_size: int) -> bytes:
    if tree_size == 0:
        return merkle.EMPTY_ROOT
    return _resolve(session, [(0, tree_size)])[0]


def inclusion_proof(session: Session, index: int, tree_size: int) -> list[bytes]:
    _check_size(session, tree_size)
    if not 0 <= index < tree_size:
        raise NotFound("该记录不在这个大小的日志里", code="not_in_tree")
    return _resolve(session, merkle.inclusion_ranges(index, tree_size))


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    _check_size(session, second)
    if not 0 <= first <= second:
        raise NotFound("没有从较大日志到较小日志的一致性证明", code="bad_sizes")
    return _resolve(session, merkle.consistency_ranges(first, second))


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes
    note: str  # the signed checkpoint


def head(session: Session, tree_size: int | None = None) -> Head:
    """The signed head of the log at ``tree_size`` (default: now). Ed25519 is deterministic,
    so a head at a given size is the same bytes however often it is signed."""
    current = size(session)
    wanted = current if tree_size is None else tree_size
    _check_size(session, wanted)
    value = root(session, wanted)
    signed = keys.sign_checkpoint(note.Checkpoint(keys.origin(), wanted, value))
    return Head(wanted, value, signed)


def publish(session: Session) -> TranslogHead | None:
    """Store the current signed head, once per size (the published history witnesses read)."""
    now = head(session)
    if now.size == 0 or session.get(TranslogHead, now.size) is not None:
        return None
    row = TranslogHead(size=now.size, root=now.root, note=now.note)
    session.add(row)
    session.flush()
    return row


def published(session: Session, limit: int = 100) -> list[TranslogHead]:
    return list(
        session.scalars(select(TranslogHead).order_by(col(TranslogHead.size).desc()).limit(limit))
    )


def find_leaf(
    session: Session, *, event_hash: str | None = None, event_id: int | None = None
) -> TranslogLeaf | None:
    """The leaf of an event named by its chain hash or id, or None when not (yet) logged."""
    query = select(TranslogLeaf).join(TraceEvent, col(TraceEvent.id) == TranslogLeaf.event_id)
    if event_hash is not None:
        query = query.where(col(TraceEvent.hash) == event_hash)
    elif event_id is not None:
        query = query.where(col(TranslogLeaf.event_id) == event_id)
    else:
        return None
    return session.scalars(query).first()


@dataclass(frozen=True)
class LotEntry:
    index: int
    entry: dict[str, Any] | None  # None: the logged event is gone from the trace records
    proof: list[bytes]


def lot_entries(session: Session, batch: Batch, tree_size: int) -> tuple[list[LotEntry], int]:
    """Every logged event of ``batch`` inside the tree of ``tree_size`` leaves, each as the trace
    records hold it now, with its inclusion proof; and how many of its events wait for the log."""
    _check_size(session, tree_size)
    rows = session.execute(
        select(col(TranslogLeaf.idx), TraceEvent)
        .outerjoin(TraceEvent, col(TraceEvent.id) == TranslogLeaf.event_id)
        .where(col(TranslogLeaf.batch_id) == batch.id, col(TranslogLeaf.idx) < tree_size)
        .order_by(col(TranslogLeaf.idx))
    ).all()
    ranges = [merkle.inclusion_ranges(idx, tree_size) for idx, _ in rows]
    flat = _resolve(session, [r for proof in ranges for r in proof])
    out: list[LotEntry] = []
    at = 0
    for (idx, found), proof in zip(rows, ranges, strict=True):
        event = cast("TraceEvent | None", found)  # an outer join: the event may be gone
        entry = chain.log_entry(batch, event) if event is not None else None
        out.append(LotEntry(idx, entry, flat[at : at + len(proof)]))
        at += len(proof)
    total = session.scalar(
        select(func.count()).select_from(TraceEvent).where(col(TraceEvent.batch_id) == batch.id)
    )
    waiting = int(total or 0) - sum(1 for e in out if e.entry is not None)
    return out, max(waiting, 0)


def leaf_hash(session: Session, index: int) -> bytes:
    return _hashes(session, [(0, index)])[(0, index)]
