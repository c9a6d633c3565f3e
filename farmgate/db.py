"""Database engine, sessions, shared column types and the migration guard."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, class_mapper, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from farmgate.config import settings

if TYPE_CHECKING:
    from alembic.config import Config

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def pk(row: _Stored) -> int:
    """The id of a row that is in the database: ``int`` to the type checker, never ``None``."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: add and flush it first")
    return row.id


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core ``Table``, for statements built once without the ORM's work per
    row (SQLModel does not declare ``__table__`` to the type checker)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


M = TypeVar("M", bound=SQLModel)


def new_row(model: type[M], **values: Any) -> M:
    """A new ``model`` row holding ``values`` (fields left out take their defaults, a default
    factory is called), made as the ORM makes a row it loads: its values put in place at
    once, not set one by one through SQLModel's and SQLAlchemy's attribute events (about ten
    Python calls a field: an ``Order`` took 50 µs, now 8). For rows that ``insert_row`` then
    writes (a flush would insert them too). Like a table model's constructor, it validates
    nothing; a name that is not a field is refused (TypeError)."""
    fields = model.model_fields
    unknown = values.keys() - fields.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    row: M = class_mapper(model).class_manager.new_instance()
    state = row.__dict__
    for name, field in fields.items():
        if name in values:
            state[name] = values[name]
        elif not field.is_required():  # a required field left out stays unset, as SQLModel
            state[name] = field.get_default(call_default_factory=True)
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row


def run(
    session: Session, statement: Executable, params: Any = None
) -> CursorResult[*tuple[Any, ...]]:
    """``session.execute`` of a Core statement (of tables, not ORM entities) on the session's
    connection: pending ORM changes are flushed first, as the session's autoflush would, and
    the session's routing of each statement (coercion, events, the ORM plugin's lookup, about
    a fifth of a short statement's cost in SQLAlchemy) is skipped. For the statements a paid
    order runs several of; an ORM statement (``select(Model)``) must go through the session."""
    if session.autoflush:
        session.flush()  # nothing to do, at once, when no object has changed
    return session.connection().execute(statement, params)


_ROW_INSERTS: dict[tuple[Table, bool], Insert] = {}


def insert_row(session: Session, row: SQLModel, statement: Insert | None = None) -> bool:
    """INSERT a new ``row`` with one Core statement and put it in the session as persistent,
    as a flush would have, without the unit of work's bookkeeping per object (a flush of one
    new object cost several times its INSERT). True if inserted; False if ``statement`` (an
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` of the row's table) inserted nothing,
    and the row stays new, unsaved, outside the session.

    For a table whose columns all get their values in Python (no server defaults): the row is
    then complete as it stands, and reading it later loads nothing. Session listeners that
    look at ``session.new`` at flush time do not see it: use it where none needs to.
    """
    table = table_of(type(row))
    if statement is None:
        statement = _row_insert(table)
    new_id = run(session, statement, _values(table, row)).scalar()
    if new_id is None:
        return False
    _attach(session, row, new_id)
    return True


def insert_rows(session: Session, rows: Sequence[SQLModel]) -> None:
    """``insert_row`` for several new rows of one table: one statement (an INSERT of many
    VALUES, ids returned in the rows' order)."""
    if not rows:
        return
    table = table_of(type(rows[0]))
    if len(rows) == 1:
        insert_row(session, rows[0])
        return
    found = run(
        session, _row_insert(table, many=True), [_values(table, row) for row in rows]
    ).scalars()
    for row, new_id in zip(rows, found, strict=True):
        _attach(session, row, new_id)


def _row_insert(table: Table, many: bool = False) -> Insert:
    statement = _ROW_INSERTS.get((table, many))
    if statement is None:
        statement = _ROW_INSERTS[table, many] = insert(table).returning(
            table.c.id, sort_by_parameter_order=many
        )
    return statement


_ROW_UPDATES: dict[tuple[Table, tuple[str, ...]], Update] = {}


def update_row(session: Session, row: SQLModel, values: dict[str, Any]) -> None:
    """UPDATE a stored ``row``'s columns to ``values`` with one Core statement (built once per
    table and set of columns), and give the loaded object the same values as committed: what
    a flush of those changes would write, without the unit of work's bookkeeping (a flush of
    one changed object cost several times its UPDATE). Flush listeners do not see the change:
    use it where none needs to, or tell them (``models.STATUS_WRITTEN``)."""
    table = table_of(type(row))
    names = tuple(values)
    statement = _ROW_UPDATES.get((table, names))
    if statement is None:
        statement = _ROW_UPDATES[table, names] = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}") for name in names})
        )
    run(
        session,
        statement,
        {"row_id": pk(cast(_Stored, row)), **{f"new_{name}": v for name, v in values.items()}},
    )
    for name, value in values.items():
        set_committed_value(row, name, value)


def _values(table: Table, row: SQLModel) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in table.columns if not c.primary_key}


def _attach(session: Session, row: SQLModel, new_id: int) -> None:
    row.id = new_id
    make_transient_to_detached(row)  # its values are now what the database holds
    session.add(row)


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and given back their UTC zone on the way out. Naive values are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use timezone-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; take it over so
    # SQLite behaves transactionally like PostgreSQL (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers BEGIN IMMEDIATE: they take the write lock up front and queue on busy_timeout,
        # instead of failing with "database is locked" when a read lock is upgraded mid-way.
        # Read-only units of work (see READ_ONLY) begin deferred so readers never queue.
        mode = conn.get_execution_options().get("farmgate_begin") or begin_mode.get()
        conn.exec_driver_sql(f"BEGIN {mode}")


# How long a writer waits for SQLite's write lock (or, in the web process, for its turn at the
# writer gate in farmgate/web/unit.py) before giving up with a "busy, try again" answer.
BUSY_TIMEOUT_SECONDS = 10

# Connections beyond one per web thread, for work outside requests (jobs, scan batches).
POOL_SPARE = 10
# PostgreSQL connections older than this are closed and replaced at their next checkout.
POOL_RECYCLE_SECONDS = 1800


# Pass as ``Session.connection(execution_options=READ_ONLY)`` for read-only units of work.
READ_ONLY: dict[str, Any] = {"farmgate_begin": "DEFERRED"}
# Or set this to "DEFERRED" for the code running in this context: the option then applies to
# whatever transaction begins next, without opening one up front (farmgate/web/unit.py).
begin_mode: ContextVar[str] = ContextVar("farmgate_begin", default="IMMEDIATE")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = url or settings.database_url
    # At least one connection per thread-pool thread (farmgate/web/unit.py): a request's
    # database work runs inside one thread-pool call, so a running call never waits for one.
    if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
        kwargs.setdefault("pool_size", settings.web_threads)
        kwargs.setdefault("max_overflow", POOL_SPARE)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # No pre-ping: it is a round trip on every checkout, i.e. on every request. Connections are
    # replaced after POOL_RECYCLE_SECONDS instead (before a proxy or firewall drops them), and
    # when the server did go away, the first statement that fails on a dead connection makes
    # SQLAlchemy invalidate the whole pool: one request fails instead of each paying a ping.
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    from farmgate.pgcursor import LazyDescribingCursor  # psycopg: PostgreSQL only

    connect_args = {"cursor_factory": LazyDescribingCursor, **kwargs.pop("connect_args", {})}
    return create_engine(url, connect_args=connect_args, **kwargs)


_engine: Engine | None = None
_session_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _session_factory
    if _engine is None:
        _engine = make_engine()
        _session_factory = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def set_engine(engine: Engine) -> None:
    """Point the application at another engine (tests, CLI with --database-url)."""
    global _engine, _session_factory
    _engine = engine
    _session_factory = sessionmaker(engine, expire_on_commit=False)


def set_session_factory(factory: sessionmaker[Session]) -> None:
    """Replace how units of work get their sessions (tests bind them to one transaction)."""
    global _session_factory
    _session_factory = factory


def session_factory() -> sessionmaker[Session]:
    if _session_factory is None:
        get_engine()
    assert _session_factory is not None
    return _session_factory


@contextmanager
def without_transaction(session: Session) -> Iterator[None]:
    """Run the session's statements in autocommit on PostgreSQL: no BEGIN and COMMIT round
    trips (each a GIL hand-off and a wake-up under load). For a unit that only reads (under
    READ COMMITTED, farmgate's level, every statement of a transaction takes its own snapshot
    anyway, so reading this way shows nothing a transaction would not), or that writes with
    one statement, which is then a transaction of its own. The pooled connection is put back
    as it was before it returns to the pool. Other databases: unchanged."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    import psycopg  # PostgreSQL only

    connection = session.connection()
    driver: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
    if driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        yield  # bound to a connection already in a transaction (the tests' sessions)
        return
    driver.autocommit = True
    try:
        yield
    finally:
        if not driver.closed:  # closed: SQLAlchemy dropped it on a lost connection already
            try:
                driver.autocommit = False
            except psycopg.Error as exc:  # broken: never hand it to the next request
                connection.invalidate()
                raise OperationalError("resetting autocommit", None, exc) from exc


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for scripts and jobs: commit on success, roll back on error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --- migrations -------------------------------------------------------------------------


# alembic is imported where it is used: it and its dialect modules cost about 0.3 s of every
# process's start (a worker, a CLI command) that never looks at migrations.
def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or settings.database_url).replace("%", "%%"))
    return cfg


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


class DatabaseNotMigrated(RuntimeError):
    """The database schema is behind (or ahead of) the code's migrations."""


def check_migrations(engine: Engine | Connection) -> None:
    """Refuse to serve a database whose schema does not match the code's head revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.engine.url)))
    heads = set(script.get_heads())
    if isinstance(engine, Connection):
        current = set(MigrationContext.configure(engine).get_current_heads())
    else:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        shown = ", ".join(sorted(current)) or "empty"
        raise DatabaseNotMigrated(
            f"The database at {engine.engine.url.render_as_string(hide_password=True)} is at "
            f"revision {shown} but the code expects {', '.join(sorted(heads))}. "
            "Run `farmgate db upgrade` to migrate it."
        )


SessionListeners = Sequence[tuple[str, Callable[..., Any]]]


def listen_on_sessions(listeners: SessionListeners) -> None:
    """Listen on every session with each ``(event name, function)`` (idempotent)."""
    for name, fn in listeners:
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


def listening_on_sessions(listeners: SessionListeners) -> bool:
    return all(event.contains(Session, name, fn) for name, fn in listeners)
