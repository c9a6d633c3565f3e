"""farmgate/pgcursor.py: PostgreSQL cursors describe their columns only when asked."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, bindparam, column, select, table, text

from farmgate import db
from farmgate.pgcursor import LazyDescribingCursor, LazyDescription

PG_ADMIN_URL = os.environ.get(
    "FARMGATE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="module")
def pg_admin_engine() -> Iterator[Engine]:
    """The app's engine on the server's own database (no schema needed): PostgreSQL only."""
    engine = db.make_engine(PG_ADMIN_URL, pool_size=1)
    try:
        engine.connect().close()
    except Exception as exc:
        if os.environ.get("FARMGATE_REQUIRE_PG") == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    yield engine
    engine.dispose()


def _raw(engine: Engine) -> psycopg.Connection:  # type: ignore[type-arg]
    return psycopg.connect(
        engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        cursor_factory=LazyDescribingCursor,
    )


def test_the_description_is_psycopgs_once_looked_at(pg_admin_engine: Engine) -> None:
    with _raw(pg_admin_engine) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 AS one, 'x'::text AS name, now() AS at")
        lazy = cur.description
        assert isinstance(lazy, LazyDescription)
        assert len(lazy) == 3 and lazy._columns is None  # nothing built yet
        eager = psycopg.Cursor.description.fget(cur)  # type: ignore[attr-defined]
        assert [tuple(c) for c in lazy] == [tuple(c) for c in eager]
        assert [c.name for c in lazy[1:]] == ["name", "at"]
        assert lazy[0].type_code == eager[0].type_code


def test_it_describes_its_own_result_after_the_cursor_moved_on(pg_admin_engine: Engine) -> None:
    with _raw(pg_admin_engine) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 AS first_result")
        lazy = cur.description
        assert lazy is not None
        cur.execute("SELECT 2 AS later, 3 AS wider")
        assert [c.name for c in lazy] == ["first_result"]


def test_no_rows_no_description_and_an_empty_select_is_empty(pg_admin_engine: Engine) -> None:
    with _raw(pg_admin_engine) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE t (a int)")
        assert cur.description is None
        cur.execute("INSERT INTO t VALUES (1)")
        assert cur.description is None
        cur.execute("SELECT")  # rows, no columns: described, and empty
        assert cur.description is not None and len(cur.description) == 0
        assert not cur.description


def test_sqlalchemy_reads_rows_and_names_through_it(pg_admin_engine: Engine) -> None:
    """The app's engine uses these cursors: a cached statement (only None-ness of the
    description asked) and a textual one (its names read from the description) both work."""
    types = table("pg_type", column("oid"), column("typname"))
    by_name = select(types.c.oid).where(types.c.typname == bindparam("name"))
    with pg_admin_engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection.cursor(), LazyDescribingCursor)  # type: ignore[union-attr]
        for _ in range(3):  # the second run on uses the cached result metadata
            assert conn.execute(by_name, {"name": "int4"}).scalar_one() == 23
        result = conn.execute(text("SELECT 7 AS seven, 'b' AS letter"))
        assert list(result.keys()) == ["seven", "letter"]
        assert result.one()._mapping == {"seven": 7, "letter": "b"}
