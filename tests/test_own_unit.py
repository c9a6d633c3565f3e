"""An endpoint that makes its own session (farmgate/web/unit.opens_own_unit, the trace page's)
has the unit of work the session dependency gives every other endpoint: committed on success,
rolled back on an error, its session closed either way, read-only for GET; and the session is
not a request parameter."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from farmgate.errors import ValidationFailed
from farmgate.models import Township
from farmgate.web.unit import opens_own_unit


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
