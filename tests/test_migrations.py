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
