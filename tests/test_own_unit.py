"""An endpoint that makes its own session (farmgate/web/unit.opens_own_unit, the trace page's)
has the unit of work the session dependency gives every other endpoint: committed on success,
rolled back on an error, its session closed either way, read-only for GET; and the session is
not a request parameter. A dependency's phase (the signed-in caller) only reads."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.errors import ValidationFailed
from farmgate.models import Township
from farmgate.web.session import SessionDep
from farmgate.web.unit import (
    bind_units,
    opens_own_read,
    opens_own_unit,
    reads_in_unit,
    reads_only,
)
from tests.support import factories as f


def _app(seen: list[Session]) -> FastAPI:
    app = FastAPI()

    def add(request: Request, code: str, session: Session) -> dict[str, bool]:
        seen.append(session)
        session.add(Township(code=code, name="乡", county="县", city="市", province="省"))
        session.flush()
        if code.endswith("9"):
            raise ValidationFailed("不行")
        return {"read_only": session.info["farmgate_unit"].read_only}

    app.post("/townships/{code}", operation_id="add")(opens_own_unit(add))
    app.get("/townships/{code}", operation_id="add_in_a_get")(opens_own_unit(add))
    return app


def _saved(session: Session, code: str) -> int:
    return session.query(Township).filter_by(code=code).count()


def test_its_unit_commits_or_rolls_back_and_closes(connection, session: Session) -> None:  # type: ignore[no-untyped-def]
    seen: list[Session] = []
    with TestClient(_app(seen), raise_server_exceptions=False) as client:
        ok = client.post("/townships/431223001")
        failed = client.post("/townships/431223009")
        read = client.get("/townships/431223002")
    assert ok.status_code == 200 and ok.json() == {"read_only": False}
    assert failed.status_code == 500
    assert read.json() == {"read_only": True}
    assert _saved(session, "431223001") == 1
    assert _saved(session, "431223009") == 0
    assert len(seen) == 3 and len({id(s) for s in seen}) == 3  # a session per request
    assert not any(s.in_transaction() for s in seen)


def test_the_session_is_not_a_request_parameter() -> None:
    operation = _app([]).openapi()["paths"]["/townships/{code}"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["code"]


# --- opens_own_read: a unit that only reads, without BEGIN/COMMIT on PostgreSQL -------------


def _read_app(seen: list[dict[str, object]]) -> FastAPI:
    app = FastAPI()

    def look(request: Request, code: str, session: Session) -> dict[str, int]:
        driver = session.connection().connection.driver_connection
        seen.append({"autocommit": getattr(driver, "autocommit", None), "driver": driver})
        return {"count": _saved(session, code)}

    def write(request: Request, code: str, session: Session) -> dict[str, int]:
        session.add(Township(code=code, name="乡", county="县", city="市", province="省"))
        session.flush()
        return {"count": 1}

    app.get("/townships/{code}", operation_id="look")(opens_own_read(look))
    app.get("/townships/{code}/write", operation_id="write")(opens_own_read(write))
    return app


def test_a_read_runs_without_a_transaction_on_postgresql(committed_db: Engine) -> None:
    seen: list[dict[str, object]] = []
    with TestClient(_read_app(seen), raise_server_exceptions=False) as client:
        for _ in range(3):
            assert client.get("/townships/431223001").json() == {"count": 0}
    postgres = committed_db.dialect.name == "postgresql"
    # Inside: autocommit on PostgreSQL (no BEGIN, no COMMIT); SQLite as every other unit.
    assert all(s["autocommit"] is (True if postgres else None) for s in seen), seen
    if postgres:
        # Back in the pool as it was: the next unit to take the connection gets a transaction.
        assert all(s["driver"].autocommit is False for s in seen)  # type: ignore[attr-defined]
        with committed_db.connect() as conn:
            assert conn.connection.driver_connection.autocommit is False  # type: ignore[union-attr]
            conn.execute(text("SELECT 1"))
            assert conn.connection.driver_connection.info.transaction_status != 0  # type: ignore[union-attr]


def test_a_read_unit_refuses_to_write(committed_db: Engine) -> None:
    with TestClient(_read_app([]), raise_server_exceptions=False) as client:
        refused = client.get("/townships/431223005/write")
        after = client.get("/townships/431223005")
    assert refused.status_code == 500
    assert after.json() == {"count": 0}  # nothing written, and the next read still works
    with Session(committed_db) as s:
        assert _saved(s, "431223005") == 0


WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|COPY)\b", re.I)


def test_the_endpoints_marked_read_only_send_no_writes(  # type: ignore[no-untyped-def]
    client, session: Session, farm, connection
) -> None:
    """Every endpoint marked opens_own_read or reads_only, asked as visitors ask it (anonymous
    and signed in), sends nothing but reads: on PostgreSQL it runs without a transaction
    around it."""
    from farmgate.web.unit import READS_ONLY
    from tests.support.reports import make_order
    from tests.support.trace import create_batch

    batch = create_batch(client, farm, "TJC2026R")
    client.post(
        f"/api/v1/batches/{batch['id']}/harvest",
        json={"harvest_date": str(date.today())},
        headers=farm["staff"],
    )
    trace_path = batch["trace_url"].removeprefix(settings.public_base_url.rstrip("/"))
    asked = {
        "/api/v1/products": ["/api/v1/products", "/api/v1/products?page=2&sort=price_asc"],
        "/api/v1/products/{product_id}": [f"/api/v1/products/{farm['fresh']}"],
        "/products/{product_id}": [f"/products/{farm['fresh']}", "/products/999999"],
        "/01/{rest:path}": [trace_path, trace_path + "?linkType=all"],
        "/api/v1/orders/{order_id}": [],  # the buyer's own order, below
    }
    marked = {
        route.path
        for route in client.app.routes
        if isinstance(route, APIRoute) and getattr(route.endpoint, READS_ONLY, False)
    }
    assert marked == set(asked), "a new read-only endpoint: add its paths here"
    buyer = f.create_account(session)
    order = make_order(session, [], paid=None)
    order.account_id = buyer.id
    session.flush()
    asked["/api/v1/orders/{order_id}"] += [f"/api/v1/orders/{order.id}", "/api/v1/orders/999999"]
    f.login_browser(client, session, buyer)
    signed_in = dict(client.cookies)
    seen_order = False
    statements: list[str] = []

    def record(conn, cursor, statement, *_: object) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        for cookies in ({}, signed_in):
            client.cookies.clear()
            client.cookies.update(cookies)
            for paths in asked.values():
                for path in paths:
                    answer = client.get(path)
                    expected = (401,) if path.startswith("/api/v1/orders/") and not cookies else ()
                    assert answer.status_code in (200, 404, *expected), (path, answer.status_code)
                    if path == f"/api/v1/orders/{order.id}" and cookies:
                        seen_order = answer.json()["number"] == order.number
            product_page = client.get(f"/products/{farm['fresh']}").text
            assert ('href="/account"' in product_page) is bool(cookies)  # the visitor is known
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert seen_order  # the buyer's order was read, not refused
    assert statements  # the listener saw the pages' reads
    assert not [s for s in statements if WRITES.match(s)]


# --- a dependency's phase: it only reads, without BEGIN/COMMIT on PostgreSQL ----------------


_seen: list[tuple[str, object]] = []  # what each phase saw: (phase, autocommit)


def _autocommit(session: Session) -> object:
    driver = session.connection().connection.driver_connection
    return getattr(driver, "autocommit", None)


@reads_in_unit
def _caller(request: Request, session: SessionDep) -> int:
    _seen.append(("dependency", _autocommit(session)))
    return _saved(session, "431223001")


@reads_in_unit
def _scribbler(request: Request, session: SessionDep) -> int:
    session.add(Township(code="431223007", name="乡", county="县", city="市", province="省"))
    session.flush()
    return 1


def _dependency_app() -> FastAPI:
    app = FastAPI()

    @app.post("/townships/{code}")
    def add(
        code: str, seen_before: Annotated[int, Depends(_caller)], session: SessionDep
    ) -> dict[str, object]:
        _seen.append(("endpoint", _autocommit(session)))
        session.add(Township(code=code, name="乡", county="县", city="市", province="省"))
        return {"seen_before": seen_before}

    @app.get("/townships/{code}")
    @reads_only
    def look(code: str, seen_before: Annotated[int, Depends(_caller)], session: SessionDep) -> int:
        _seen.append(("reads_only endpoint", _autocommit(session)))
        return _saved(session, code)

    @app.post("/scribble")
    def scribble(wrote: Annotated[int, Depends(_scribbler)], session: SessionDep) -> int:
        return wrote

    bind_units(app)
    return app


def test_a_dependency_reads_without_a_transaction_and_may_not_write(
    committed_db: Engine,
) -> None:
    _seen.clear()
    with TestClient(_dependency_app(), raise_server_exceptions=False) as client:
        first = client.post("/townships/431223001")
        second = client.post("/townships/431223002")
        refused = client.post("/scribble")
        looked = client.get("/townships/431223002")
    assert first.json() == {"seen_before": 0} and second.json() == {"seen_before": 1}
    postgres = committed_db.dialect.name == "postgresql"
    # The dependency in autocommit on PostgreSQL; the endpoint in its transaction as ever.
    one_request = [
        ("dependency", True if postgres else None),
        ("endpoint", False if postgres else None),
    ]
    # A GET endpoint marked reads_only: in autocommit too.
    alone = True if postgres else None
    assert _seen[4:] == [("dependency", alone), ("reads_only endpoint", alone)]
    assert looked.json() == 1
    assert _seen[:4] == one_request * 2
    assert refused.status_code == 500
    with Session(committed_db) as s:
        assert _saved(s, "431223002") == 1
        assert _saved(s, "431223007") == 0  # the dependency's write was refused


def test_a_plain_def_dependency_without_the_session_is_refused() -> None:
    """FastAPI runs it in a thread-pool call of its own on every request: a role check that
    only looks at what another dependency resolved must be async."""
    app = FastAPI()

    @app.get("/who")
    async def who(role: Annotated[str, Depends(_plain_role)]) -> str:
        return role

    with pytest.raises(TypeError, match="make it async"):
        bind_units(app)


def _plain_role(request: Request) -> str:
    return "admin"
