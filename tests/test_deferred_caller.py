"""The signed-in caller of an API endpoint is read by the endpoint's own thread-pool call
(farmgate/web/unit.defer), not by one of its own: one thread-pool call per request, the
account read once, and every refusal (401, 403) still before anything is read or written."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError
from farmgate.models import Account, Product, Role
from farmgate.web.auth import CurrentAccount, CurrentAdmin, OptionalAccount, get_admin
from farmgate.web.session import SessionDep
from farmgate.web.unit import bind_units, opens_own_unit, reads_in_unit
from tests.support import factories as f

NEW_PRODUCT = {
    "name": "新米",
    "category": "grain_oil",
    "unit": "袋",
    "shelf_life_days": 365,
    "skus": [{"spec": "5kg", "price_fen": 6800, "stock": 3, "weight_g": 5100}],
}


@pytest.fixture
def thread_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return calls


def test_a_signed_in_request_is_one_thread_pool_call(  # type: ignore[no-untyped-def]
    client, session: Session, thread_calls: list[str]
) -> None:
    account = f.create_account(session)
    headers = f.auth_headers(session, account)
    thread_calls.clear()
    me = client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["id"] == account.id
    assert len(thread_calls) == 1, thread_calls
    thread_calls.clear()
    mine = client.get("/api/v1/orders", headers=headers)
    assert mine.status_code == 200 and mine.json() == []
    assert len(thread_calls) == 1, thread_calls


def test_refusals_come_before_anything_is_written(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    village = f.first_village(session, township)
    coop = f.create_cooperative(session, township)
    buyer = f.auth_headers(session, f.create_account(session))
    staff = f.auth_headers(
        session, f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    )
    body = {**NEW_PRODUCT, "village_id": village.id}
    bad = {"Authorization": "Bearer not-a-token"}

    def created() -> int:
        session.expire_all()
        return session.query(Product).filter_by(name="新米").count()

    # No credentials at all: 401 at once, even before the body is validated.
    anonymous = client.post("/api/v1/my/products", json={"name": ""})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"
    # A token that names nobody, with a valid body: 401, nothing written.
    unknown = client.post("/api/v1/my/products", json=body, headers=bad)
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_token"
    # A buyer on a cooperative's endpoint: 403, nothing written.
    refused = client.post("/api/v1/my/products", json=body, headers=buyer)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert created() == 0
    # The one order that changed: a bad token with an invalid body now gets the 422 (the
    # token is read by the endpoint's call, after FastAPI validated the body).
    assert client.post("/api/v1/my/products", json={"name": ""}, headers=bad).status_code == 422
    # And the staff member may.
    assert client.post("/api/v1/my/products", json=body, headers=staff).status_code == 201
    assert created() == 1


# --- a small app: a dependency that takes the caller, and several checks on one request ----


_seen: list[tuple[str, object]] = []


@reads_in_unit
def _their_name(session: SessionDep, account: CurrentAccount) -> str:
    _seen.append(("dependency", type(account).__name__))
    return account.phone


def _app() -> FastAPI:
    app = FastAPI()

    @app.exception_handler(FarmgateError)
    async def refused(request: Request, exc: FarmgateError) -> JSONResponse:
        return JSONResponse({"code": exc.code}, status_code=exc.status)

    @app.get("/who")
    def who(
        session: SessionDep,
        maybe: OptionalAccount,
        account: CurrentAccount,
        admin: CurrentAdmin,
        name: Annotated[str, Depends(_their_name)],
    ) -> dict[str, object]:
        _seen.append(("endpoint", (type(maybe).__name__, maybe is account is admin)))
        return {"id": admin.id, "name": name}

    @app.get("/guarded", dependencies=[Depends(get_admin)])
    def guarded(session: SessionDep) -> dict[str, object]:  # the check only in dependencies
        _seen.append(("guarded", "ran"))
        return {"ok": True}

    @app.get("/maybe")
    def maybe(account: OptionalAccount) -> dict[str, object]:  # no session of its own
        return {"id": account.id if account else None}

    bind_units(app)
    return app


def test_a_dependency_gets_the_account_and_it_is_read_once(committed_db: Engine) -> None:
    with Session(committed_db) as s:
        admin = f.create_account(s, role=Role.ADMIN)
        buyer = f.create_account(s)
        admin_headers, buyer_headers = f.auth_headers(s, admin), f.auth_headers(s, buyer)
        admin_id, admin_phone, buyer_id = admin.id, admin.phone, buyer.id
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(committed_db, "before_cursor_execute", record)
    _seen.clear()
    try:
        with TestClient(_app(), raise_server_exceptions=False) as client:
            ok = client.get("/who", headers=admin_headers)
            reads = [s for s in statements if "auth_token" in s]
            refused = client.get("/who", headers=buyer_headers)
            anonymous = client.get("/who")
            maybe_signed_in = client.get("/maybe", headers=buyer_headers)
            maybe_not = client.get("/maybe")
            guarded = [client.get("/guarded", headers=h) for h in (buyer_headers, admin_headers)]
    finally:
        event.remove(committed_db, "before_cursor_execute", record)
    assert ok.status_code == 200 and ok.json() == {"id": admin_id, "name": admin_phone}
    # One lookup for the four values that name the caller: the optional caller, the signed-in
    # one (which asks for the optional one itself, not as a dependency FastAPI solves), the
    # admin check and a dependency of the endpoint.
    assert len(reads) == 1
    assert _seen[:2] == [("dependency", "Account"), ("endpoint", ("Account", True))]
    # Refused before the dependency ran.
    assert refused.status_code == 403 and [e for e in _seen if e[0] == "dependency"] == [_seen[0]]
    assert anonymous.status_code == 401
    assert maybe_signed_in.json() == {"id": buyer_id} and maybe_not.json() == {"id": None}
    # A check in dependencies=[...] is read and applied by the endpoint's phase all the same.
    assert [g.status_code for g in guarded] == [403, 200]
    assert _seen.count(("guarded", "ran")) == 1


async def _unmarked_check(account: CurrentAccount) -> Account:
    return account


def test_the_signed_in_caller_is_one_dependency_on_the_session() -> None:
    """FastAPI solves each dependency of each request: the signed-in caller depends on the
    session alone, not on the optional caller's dependency and then the session again."""
    from fastapi.routing import APIRoute

    from farmgate.web.unit import request_session

    (route,) = [r for r in _app().routes if isinstance(r, APIRoute) and r.path == "/who"]
    (account,) = [d for d in route.dependant.dependencies if d.name == "account"]
    assert [d.call for d in account.dependencies] == [request_session]


def test_a_caller_left_unread_is_refused_at_startup() -> None:
    """Only a phase (a sync endpoint or a reads_in_unit dependency) can read the caller; an
    async function would get the deferred value itself."""

    app = FastAPI()

    @app.get("/a")
    def a(account: Annotated[Account, Depends(_unmarked_check)]) -> int:
        return 1

    with pytest.raises(TypeError, match="passes_deferred"):
        bind_units(app)

    app = FastAPI()

    @app.get("/b")
    async def b(account: CurrentAccount) -> int:
        return 1

    with pytest.raises(TypeError, match="use def"):
        bind_units(app)

    # A check only in dependencies=[...], on an endpoint with neither the session nor the
    # caller among its arguments: its phase could not find the check to apply it.
    app = FastAPI()

    @app.get("/c", dependencies=[Depends(get_admin)])
    def c() -> int:
        return 1

    with pytest.raises(TypeError, match="dependencies"):
        bind_units(app)

    # An endpoint that opens its own unit reads with another session than the caller's.
    app = FastAPI()

    def d(request: Request, session: Session, account: OptionalAccount) -> int:
        return 1

    app.get("/d")(opens_own_unit(d))
    with pytest.raises(TypeError, match="opens its own unit"):
        bind_units(app)
