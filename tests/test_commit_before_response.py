"""A write is committed before its response starts: the client never hears "done" first."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from farmgate.app import create_app
from farmgate.models import Role, Sku
from tests.support import factories as f


def test_commit_happens_before_the_response_starts(
    connection, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    headers = f.auth_headers(session, staff)

    events: list[str] = []
    real_commit = Session.commit

    def commit(self: Session) -> None:
        events.append("commit")
        real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)
    app = create_app(check_schema=False, run_jobs=False)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def spy(message: Any) -> None:
            if message["type"] == "http.response.start":
                events.append("response starts")
            await send(message)

        await app(scope, receive, spy)

    with TestClient(recording) as client:  # type: ignore[arg-type]
        events.clear()
        response = client.patch(
            f"/api/v1/my/products/{product.id}/skus/{sku.id}", json={"stock": 3}, headers=headers
        )
    assert response.status_code == 200
    # The caller is read by the endpoint's own unit (farmgate/web/unit.py): one commit, the
    # endpoint's, and before the response.
    assert events == ["commit", "response starts"]
