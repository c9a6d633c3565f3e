"""Test fixtures: every data-layer test runs on SQLite AND on the real PostgreSQL.

Every fixture is defined once, here or in a conftest.py below (tests/test_test_layout.py
checks); plain helper functions live in tests/support/.

Each database is migrated once per run with Alembic; each test then runs inside an outer
transaction that is rolled back, with the code's own commits becoming savepoints.
PostgreSQL is required when FARMGATE_REQUIRE_PG=1 (CI); otherwise its half is skipped, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Jobs the tests use (tests/support/jobs.py); also inherited by worker subprocesses.
os.environ.setdefault("FARMGATE_JOB_MODULES", '["tests.support.jobs"]')
os.environ.setdefault("FARMGATE_EMBEDDED_JOBS", "false")
# Hash passwords at a token cost: production's argon2id strength is asserted in test_auth.py.
os.environ.setdefault("FARMGATE_PASSWORD_HASH_COST", "test")
# A fixed key: no test run writes a generated one into the checkout's var/.
os.environ.setdefault("FARMGATE_SECRET_KEY", "tests-only-secret-key-0123456789abcdef")
# ... and a fixed transparency-log signing key (base64 of b"farmgate-tests-translog-key-0001").
os.environ.setdefault("FARMGATE_TRANSLOG_KEY", "ZmFybWdhdGUtdGVzdHMtdHJhbnNsb2cta2V5LTAwMDE=")
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from farmgate import db
from farmgate.bootstrap import install
from farmgate.catalog.schemas import SkuCreate
from farmgate.config import settings
from farmgate.logistics.simulator import CourierSimulatorServer, start_courier_simulator
from farmgate.media.storage import LocalMediaStorage, set_storage
from farmgate.models import Role, Sku
from farmgate.payments.simulator import SimulatorServer, start_simulator
from farmgate.search.backend import SearchBackend
from farmgate.sms.simulator import SmsSimulatorServer, start_sms_simulator
from tests.support import factories as f
from tests.support.search_catalogue import catalogue_backend

install()  # listeners and jobs, as the app, the CLI and the workers have them

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
    from farmgate.story import views
    from farmgate.trace import scans

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
def pillow_bomb_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Uploads set Pillow's process-wide pixel limit from ``settings.max_image_pixels``; a test
    that lowers the setting must not leave Pillow refusing the next test's large images."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


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


# --- the protocol simulators: one server per test module ----------------------------------


@pytest.fixture(scope="module")
def pay_sim() -> Iterator[SimulatorServer]:
    """The WeChat Pay simulator (API v2 and v3) on 127.0.0.1."""
    with start_simulator() as server:
        yield server


@pytest.fixture(scope="module")
def courier_sim() -> Iterator[CourierSimulatorServer]:
    """The Kuaidi100-protocol courier simulator on 127.0.0.1."""
    with start_courier_simulator() as server:
        yield server


@pytest.fixture
def carrier(
    courier_sim: CourierSimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> CourierSimulatorServer:
    """The courier simulator, with the shop's settings pointing at it and no faults set."""
    config = courier_sim.config()
    monkeypatch.setattr(settings, "kuaidi100_customer", config["customer"])
    monkeypatch.setattr(settings, "kuaidi100_key", config["key"])
    monkeypatch.setattr(settings, "kuaidi100_secret", config["secret"])
    monkeypatch.setattr(settings, "kuaidi100_base", config["base_url"])
    monkeypatch.setattr(settings, "kuaidi100_label_base", config["label_base_url"])
    monkeypatch.setattr(settings, "courier_http_timeout", 1)
    monkeypatch.setattr(settings, "kuaidi100_waybill_lookup", True)
    courier_sim.state.faults.clear()
    return courier_sim


@pytest.fixture(scope="module")
def sms_sim() -> Iterator[SmsSimulatorServer]:
    """The Tencent Cloud SMS simulator on 127.0.0.1."""
    with start_sms_simulator() as server:
        yield server


@pytest.fixture
def sms(sms_sim: SmsSimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SmsSimulatorServer:
    """The SMS simulator, with the shop's settings pointing at it, no faults, no messages."""
    for name, value in sms_sim.settings().items():
        monkeypatch.setattr(settings, name, value)
    # Room for a slow answer on a loaded CI machine; the timeout faults stall for longer.
    monkeypatch.setattr(settings, "sms_http_timeout", 3)
    sms_sim.state.faults.clear()
    sms_sim.state.messages.clear()
    sms_sim.state.refused.clear()
    return sms_sim


# --- a farm for the traceability tests ---------------------------------------------------------


@pytest.fixture
def farm(session: Session) -> dict[str, object]:
    """A cooperative with two products in one village (鲜红辣椒 and 干红辣椒), a rival
    cooperative, an admin and a buyer: their auth headers and the product ids."""
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    other = f.create_cooperative(session, township, name="另一个合作社")
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    rival = f.create_account(session, role=Role.COOPERATIVE, cooperative=other)
    village = f.first_village(session, township)
    fresh = f.create_product(session, staff, village, name="鲜红辣椒")
    dried = f.create_product(session, staff, village, name="干红辣椒")
    return {
        "coop": coop,
        "staff": f.auth_headers(session, staff),
        "rival": f.auth_headers(session, rival),
        "admin": f.auth_headers(session, f.create_account(session, role=Role.ADMIN)),
        "buyer": f.auth_headers(session, f.create_account(session)),
        "fresh": fresh.id,
        "dried": dried.id,
        "village_code": village.code,
    }


# --- the search catalogue, indexed by each search backend ---------------------------------


@pytest.fixture(scope="module", params=["embedded", "meili"])
def search_backend(request: pytest.FixtureRequest) -> Iterator[SearchBackend]:
    """The catalogue indexed once per module; tests that change the index take
    fresh_search_backend instead."""
    with catalogue_backend(request.param) as backend:
        yield backend


@pytest.fixture(params=["embedded", "meili"])
def fresh_search_backend(request: pytest.FixtureRequest) -> Iterator[SearchBackend]:
    """The catalogue indexed for this test alone, to change as it likes."""
    with catalogue_backend(request.param) as backend:
        yield backend


@pytest.fixture
def shop(session: Session) -> dict[str, object]:
    """Two cooperatives' products for the cart and checkout tests: a chilli and a fish SKU."""
    township = f.create_township(session)
    village = f.first_village(session, township)
    coop_a = f.create_cooperative(session, township, name="辣椒合作社")
    coop_b = f.create_cooperative(session, township, name="稻花鱼合作社")
    staff_a = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop_a)
    staff_b = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop_b)
    chilli = f.create_product(session, staff_a, village, name="干辣椒")
    fish = f.create_product(
        session,
        staff_b,
        village,
        name="稻花鱼",
        category="aquatic",
        storage_class="chilled",
        unit="条",
        skus=[SkuCreate(spec="一条", price_fen=3500, stock=5, weight_g=600)],
    )
    sku_chilli = session.query(Sku).filter_by(product_id=chilli.id).one()
    sku_fish = session.query(Sku).filter_by(product_id=fish.id).one()
    session.commit()
    return {
        "chilli": sku_chilli.id,
        "fish": sku_fish.id,
        "staff_a": f.auth_headers(session, staff_a),
        "staff_b": f.auth_headers(session, staff_b),
        "staff_a_id": staff_a.id,  # to list more of the chilli cooperative's goods
        "village_id": village.id,
    }
