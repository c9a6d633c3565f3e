"""The embedded search backend's documents, kept in the database so every process agrees.

Each web or worker process holds its own in-memory index and catches up by reading the entries
whose ``version`` is above the last one it saw. Versions come from the single ``SearchVersion``
row, bumped inside the writing transaction: its row lock makes versions commit in order, so a
reader never skips an entry that commits late.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow


class SearchEntry(SQLModel, table=True):
    """One product as the search index sees it; ``body`` is None once it must not be found."""

    __tablename__ = "search_entry"

    product_id: int = Field(primary_key=True)  # no foreign key: deleted products leave a tombstone
    version: int = Field(sa_type=BigInteger, index=True)
    body: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class SearchVersion(SQLModel, table=True):
    __tablename__ = "search_version"

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0, sa_type=BigInteger)


class SearchSynonym(SQLModel, table=True):
    """The admin's override of one entry of the trade's vocabulary (``search/vocabulary.txt``):
    ``expansions`` (normalised words, space-separated) replace the file's; empty switches the
    word off."""

    __tablename__ = "search_synonym"

    word: str = Field(primary_key=True, max_length=12)
    expansions: str = Field(default="", max_length=400)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="account.id")
