"""Without a pre-ping per request (farmgate/db.py), a PostgreSQL restart must cost at most one
answer per pooled connection, and that answer is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from farmgate.app import create_app

pytestmark = pytest.mark.parametrize("committed_engine", ["postgresql"], indirect=True)


def test_a_dropped_connection_answers_503_once_then_the_pool_recovers(
    committed_db: Engine,
) -> None:
    name = committed_db.url.database
    with TestClient(create_app(check_schema=False, run_jobs=False)) as client:
        assert client.get("/api/v1/products").status_code == 200  # a pooled connection now
        admin = create_engine(committed_db.url, poolclass=NullPool)  # outside the pool
        try:
            with admin.connect() as conn:
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).scalar_one()
                conn.commit()
        finally:
            admin.dispose()
        assert killed >= 1
        answers = [client.get("/api/v1/products") for _ in range(3)]
        codes = [a.status_code for a in answers]
        assert set(codes) <= {200, 503}, codes
        assert codes.count(503) <= 1, codes  # the failure invalidates the whole pool
        assert codes[-1] == 200
        for failed in (a for a in answers if a.status_code == 503):
            assert failed.headers["retry-after"] == "1"
            assert failed.json()["error"]["code"] == "service_unavailable"
