"""The transparency log of trace events: leaves, the hashes of complete subtrees, signed heads.

Append-only like trace_event. ``translog_leaf`` gives each logged event its place (leaf index,
0-based, one sequence without gaps); ``translog_node`` keeps the hash of every complete aligned
subtree of 2**level leaves (level >= 1; level 0 is the leaf's own hash), so a proof is a few
indexed reads; ``translog_state`` is the one row whose lock orders writers; ``translog_head``
keeps each head the schedule signed and published.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, LargeBinary
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class TranslogLeaf(SQLModel, table=True):
    __tablename__ = "translog_leaf"

    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: int = Field(foreign_key="trace_event.id", unique=True)
    # The event's batch, copied so a lot's leaves are one index away. Not a foreign key: its
    # check would share-lock the batch row, which chain.append holds FOR UPDATE while the
    # same transaction may wait here for the log's lock (a deadlock).
    batch_id: int = Field(index=True)
    leaf_hash: bytes = Field(sa_type=LargeBinary(32))


class TranslogNode(SQLModel, table=True):
    __tablename__ = "translog_node"

    level: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_type=LargeBinary(32))


class TranslogState(SQLModel, table=True):
    __tablename__ = "translog_state"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_type=BigInteger)


class TranslogHead(SQLModel, table=True):
    __tablename__ = "translog_head"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_type=LargeBinary(32))
    note: str  # the signed checkpoint, as served
    published_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


__all__ = ["TranslogHead", "TranslogLeaf", "TranslogNode", "TranslogState"]
