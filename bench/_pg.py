"""The bench scripts' PostgreSQL: a fresh database per run, dropped and made again.

``FARMGATE_BENCH_DB_SUFFIX`` is appended to every database name, so two runs of the same
script (two checkouts of the project on one machine) do not drop each other's database.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_pg(name: str) -> str:
    """An empty database called ``name`` (plus the suffix); its URL."""
    name += os.environ.get("FARMGATE_BENCH_DB_SUFFIX", "")
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
