"""Test fixtures: every data-layer test runs on SQLite AND on the real PostgreSQL.

Each database is migrated once per run with Alembic; each test then runs inside an outer
transaction that is rolled back, with the code's own commits becoming savepoints.
PostgreSQL is required when FARMGATE_REQUIRE_PG=1 (CI); otherwise its half is skipped, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Jobs the tests use (tests/jobs_for_tests.py); also inherited by worker subprocesses.
os.environ.setdefault("FARMGATE_JOB_MODULES", '["tests.jobs_for_tests"]')
os.environ.setdefault("FARMGATE_EMBEDDED_JOBS", "false")
# A fixed key: no test run writes a generated one into the checkout's var/.
os.environ.setdefault("FARMGATE_SECRET_KEY", "tests-only-secret-key-0123456789abcdef")
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from farmgate import db
from farmgate.config import settings
from farmgate.media.storage import LocalMediaStorage, set_storage

# The courier simulator fixtures (sim, carrier) the logistics test modules share.
pytest_plugins = ["tests.logistics_support"]

PG_ADMIN_URL = os.environ.get(
    "FARMGATE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_DB_NAME = os.environ.get("FARMGATE_TEST_PG_DB", "farmgate_test")


def _postgres_url() -> str:
    """Create (or recreate) the PostgreSQL test database and return its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB_NAME}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB_NAME}"'))
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB_NAME}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        try:
            url = _postgres_url()
        except Exception as exc:
            if os.environ.get("FARMGATE_REQUIRE_PG") == "1":
                raise
            pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    db.upgrade_database(url)
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[object]:
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    previous = db._session_factory
    db.set_session_factory(factory)
    try:
        yield conn
    finally:
        db.set_session_factory(previous)  # type: ignore[arg-type]
        outer.rollback()
        conn.close()


@pytest.fixture
def session(connection: object) -> Iterator[Session]:
    """A session inside the test's transaction; what it commits is rolled back afterwards."""
    s = db.session_factory()()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(autouse=True)
def empty_scan_buffer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Scan counts wait in a process-wide buffer, trace stories in a short cache and the search
    index in memory; no test sees another's."""
    from farmgate.search import service as search
    from farmgate.trace import scans, views

    scans.buffer.reset()
    views.clear_cache()
    search.reset_for_tests()
    monkeypatch.setattr(settings, "search_refresh_seconds", 0)  # see writes at once
    monkeypatch.setattr(settings, "rate_limits", False)  # tests/test_guard.py turns them on
    yield
    scans.buffer.reset()
    views.clear_cache()
    search.reset_for_tests()


@pytest.fixture(autouse=True)
def media_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    monkeypatch.setattr(settings, "media_dir", root)
    set_storage(LocalMediaStorage(root, settings.media_url_path))
    return root


@pytest.fixture
def client(connection: object):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from farmgate.app import create_app

    with TestClient(
        create_app(check_schema=False, run_jobs=False), raise_server_exceptions=False
    ) as c:
        yield c


# --- committed databases: for tests where several processes or threads must see the data ----


def _committed_url(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'committed.db'}"
    name = PG_DB_NAME + "_live"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("FARMGATE_REQUIRE_PG") == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def committed_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = _committed_url(request.param, tmp_path_factory.mktemp("committed"))
    db.upgrade_database(url)
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def committed_db(committed_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """An emptied database that really commits, with the app's engine pointed at it."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with committed_engine.begin() as conn:
        if committed_engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    monkeypatch.setattr(db, "_engine", None)  # restored after the test
    monkeypatch.setattr(db, "_session_factory", None)
    db.set_engine(committed_engine)
    monkeypatch.setattr(
        settings, "database_url", committed_engine.url.render_as_string(hide_password=False)
    )
    return committed_engine
