"""psycopg cursors whose ``description`` describes the columns only when they are looked at.

SQLAlchemy reads ``cursor.description`` after every statement, but once a statement's
compiled form has its result metadata cached (every statement after its first run), it
only asks whether the description is None: are there rows? psycopg builds a ``Column`` for
each column of the result each time it is asked (a name decoded, a type looked up): about
420 of them per paid order, for nothing. Here the answer is a sequence of the right length
that builds those columns on first use, from the result it was made for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg import Column, pq

_WITH_ROWS = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)


class _Described:
    """What ``Column`` reads from a cursor, fixed at the result the description was made for
    (the cursor may have run another statement by the time the columns are looked at)."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any], pgresult: pq.abc.PGresult) -> None:
        self.pgresult = pgresult
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class LazyDescription(Sequence[Column]):
    """``cursor.description``: its ``Column``s made when first indexed or iterated."""

    __slots__ = ("_columns", "_cursor", "_pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any], pgresult: pq.abc.PGresult) -> None:
        self._cursor = cursor
        self._pgresult = pgresult
        self._columns: list[Column] | None = None

    def _made(self) -> list[Column]:
        if self._columns is None:
            described = _Described(self._cursor, self._pgresult)
            self._columns = [
                Column(described, i)  # type: ignore[arg-type]
                for i in range(self._pgresult.nfields)
            ]
        return self._columns

    def __len__(self) -> int:
        return self._pgresult.nfields

    @overload
    def __getitem__(self, index: int) -> Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[Column]: ...

    def __getitem__(self, index: int | slice) -> Column | list[Column]:
        return self._made()[index]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        return self._made() == other

    def __repr__(self) -> str:
        return repr(self._made())


class LazyDescribingCursor(psycopg.Cursor[Any]):
    """A client-side cursor with a :class:`LazyDescription` (see the module's docstring)."""

    @property
    def description(self) -> LazyDescription | None:  # type: ignore[override]
        res = self.pgresult
        if res and (res.nfields or res.status in _WITH_ROWS):
            return LazyDescription(self, res)
        return None
