"""The schema comes from Alembic, and the app refuses a database behind it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import farmgate.models  # noqa: F401
from farmgate import db


def test_migrations_produce_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
        )
    assert diff == []


def test_constraint_names_follow_the_convention(engine: Engine) -> None:
    fks = inspect(engine).get_foreign_keys("sku")
    assert [fk["name"] for fk in fks] == ["fk_sku_product_id_product"]


def test_unmigrated_database_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    engine = db.make_engine(url)
    with pytest.raises(db.DatabaseNotMigrated, match="farmgate db upgrade"):
        db.check_migrations(engine)

    # The app itself will not start on it.
    from fastapi.testclient import TestClient

    from farmgate.app import create_app

    monkeypatch.setattr(db, "_engine", None)  # restored after the test
    monkeypatch.setattr(db, "_session_factory", None)
    db.set_engine(engine)
    with pytest.raises(db.DatabaseNotMigrated), TestClient(create_app(run_jobs=False)):
        pass

    db.upgrade_database(url)
    db.check_migrations(engine)  # now accepted
    with TestClient(create_app(run_jobs=False)) as client:
        assert client.get("/api/v1/products").status_code == 200
    engine.dispose()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    db.upgrade_database(url)
    from alembic import command

    command.downgrade(db.alembic_config(url), "base")
    engine = db.make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade_database(url)
    assert "product" in inspect(engine).get_table_names()
    engine.dispose()


def test_form_tokens_move_to_one_table_and_back(tmp_path: Path) -> None:
    """Tokens kept on handoffs and parcels before the move still stop a resubmitted form."""
    import json
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import JSON, Boolean, Connection, DateTime, Integer, MetaData, Numeric, insert

    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    db.upgrade_database(url, "26691ac4c0ff")  # the revision before form_submission
    engine = db.make_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    made: set[str] = set()

    def make(conn: Connection, name: str, **values: object) -> None:
        """Row 1 of ``name``, its required columns filled, the rows it points to made first."""
        if name in made:
            return
        made.add(name)
        table = tables.tables[name]
        row: dict[str, object] = {"id": 1}
        for column in table.columns:
            if column.nullable or column.primary_key or column.server_default is not None:
                continue
            for fk in column.foreign_keys:
                make(conn, fk.column.table.name)
            kind = column.type
            row[column.name] = (
                1
                if column.foreign_keys
                else 0  # zero satisfies the check constraints (a total adds up)
                if isinstance(kind, Integer | Numeric)
                else datetime.now(UTC)
                if isinstance(kind, DateTime)
                else False
                if isinstance(kind, Boolean)
                else []
                if isinstance(kind, JSON)
                else "x"
            )
        conn.execute(insert(table), [row | values])

    with engine.begin() as conn:
        make(conn, "handoff", client_token="h-tok-1")
        make(conn, "parcel", step_tokens=["p-tok-1", "p-tok-2"])
    db.upgrade_database(url, "508f5fde8b70")  # form_submission itself: "-1" below undoes it
    with engine.connect() as conn:
        kept = conn.exec_driver_sql(
            "SELECT kind, token, record_id FROM form_submission ORDER BY kind, token"
        ).all()
        assert [tuple(r) for r in kept] == [
            ("handoff", "h-tok-1", 1),
            ("parcel_step", "p-tok-1", 1),
            ("parcel_step", "p-tok-2", 1),
        ]
        assert "client_token" not in {c["name"] for c in inspect(conn).get_columns("handoff")}

    command.downgrade(db.alembic_config(url), "-1")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT client_token FROM handoff").scalar() == "h-tok-1"
        tokens = conn.exec_driver_sql("SELECT step_tokens FROM parcel").scalar()
        assert sorted(json.loads(tokens)) == ["p-tok-1", "p-tok-2"]
    engine.dispose()
