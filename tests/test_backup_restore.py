"""infra/backup.sh and infra/restore.sh on the real PostgreSQL, with data made by the domain code.

A source database is migrated and filled (township, cooperative, product with SKUs and a
photo, search documents); backup.sh writes a backup; restore.sh brings it into fresh
databases. The restored rows, sequences, media files and search index must equal the
source's, and restore.sh must refuse damaged backups and non-empty targets (unless forced)
without touching anything. Every database made here is dropped at the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.orm import Session

from farmgate import db
from farmgate.catalog import service as catalog
from farmgate.catalog.schemas import SkuCreate
from farmgate.config import settings
from farmgate.media.storage import LocalMediaStorage, set_storage
from farmgate.models import Role
from farmgate.search import service as search
from farmgate.search.backend import SearchQuery
from tests.support import factories
from tests.support.images import jpeg

ROOT = Path(__file__).resolve().parent.parent
BACKUP = ROOT / "infra" / "backup.sh"
RESTORE = ROOT / "infra" / "restore.sh"
PG_ADMIN_URL = os.environ.get(
    "FARMGATE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_DB_NAME = os.environ.get("FARMGATE_TEST_PG_DB", "farmgate_test")
# The derived search tables are rebuilt by restore.sh (new version numbers); compared apart.
REBUILT = {"search_entry", "search_version"}


def _unavailable(reason: str) -> None:
    if os.environ.get("FARMGATE_REQUIRE_PG") == "1":
        pytest.fail(f"FARMGATE_REQUIRE_PG=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def new_database() -> Iterator[Callable[[str], str]]:
    """Makes empty databases with unique names (URL returned); drops them all afterwards."""
    missing = [t for t in ("pg_dump", "pg_restore", "psql") if shutil.which(t) is None]
    if missing:
        _unavailable(f"the PostgreSQL client tools are not installed ({', '.join(missing)})")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except Exception as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    made: list[str] = []

    def create(label: str) -> str:
        name = f"{PG_DB_NAME}_bk_{uuid.uuid4().hex[:8]}_{label}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    yield create
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty working directory for the scripts: farmgate reads a .env from its cwd."""
    return tmp_path_factory.mktemp("cwd")


def _run(
    script: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an infra script as an operator would: the venv's farmgate on PATH and no FARMGATE_*
    setting leaking in from the test process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FARMGATE_")}
    clean["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}"
    clean.update(env or {})
    return subprocess.run(
        [str(script), *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in a stable order."""
    out = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


def _sequences(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sequencename, last_value FROM pg_sequences")).all()
    return dict(rows)  # type: ignore[arg-type]


def _search_documents(engine: Engine) -> dict[int, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT product_id, body FROM search_entry")).all())  # type: ignore[arg-type]


@dataclass
class Source:
    url: str
    engine: Engine
    media: Path
    backup: Path
    product_id: int
    cwd: Path


@pytest.fixture(scope="module")
def source(
    new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory, workdir: Path
) -> Iterator[Source]:
    """A migrated database with real data and a photo on disk, and its backup."""
    url = new_database("src")
    db.upgrade_database(url)
    engine = db.make_engine(url)
    media = tmp_path_factory.mktemp("source-media")
    set_storage(LocalMediaStorage(media, settings.media_url_path))
    search.reset_for_tests()
    with Session(engine, expire_on_commit=False) as session:
        township = factories.create_township(session)
        coop = factories.create_cooperative(session, township)
        staff = factories.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        village = factories.first_village(session, township)
        product = factories.create_product(
            session,
            staff,
            village,
            name="谭家场干红辣椒",
            skus=[
                SkuCreate(spec="250g", price_fen=2200, stock=40, weight_g=280),
                SkuCreate(spec="500g", price_fen=3800, stock=25, weight_g=550),
            ],
        )
        catalog.add_photo(session, staff, product.id, jpeg((700, 500), (200, 40, 30)))  # type: ignore[arg-type]
        factories.create_product(session, staff, village, name="高坪土鸡蛋", published=False)
        search.reindex(session)
        session.commit()
        product_id = product.id
    search.reset_for_tests()
    assert _digests(media), "the photo should have written its WebP variants"

    backups = tmp_path_factory.mktemp("backups")
    made = _run(BACKUP, "--database-url", url, "--media-dir", str(media), str(backups), cwd=workdir)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    assert backup.parent == backups and backup.name.startswith("farmgate-")
    assert not list(backups.glob(".partial-*"))
    yield Source(url, engine, media, backup, product_id, workdir)  # type: ignore[arg-type]
    engine.dispose()


def test_backup_holds_a_custom_format_dump_the_media_and_checksums(source: Source) -> None:
    files = sorted(p.name for p in source.backup.iterdir())
    assert files == ["MANIFEST", "SHA256SUMS", "database.dump", "media.sha256", "media.tar.gz"]
    assert source.backup.joinpath("database.dump").read_bytes()[:5] == b"PGDMP"  # custom format
    manifest = dict(
        line.split("=", 1) for line in source.backup.joinpath("MANIFEST").read_text().splitlines()
    )
    assert manifest["format"] == "farmgate-backup/1"
    assert int(manifest["media_files"]) == len(_digests(source.media))
    with source.engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert manifest["alembic_revision"] == revision
    listed = {
        line.split(None, 1)[1].lstrip("*./"): line.split()[0]
        for line in source.backup.joinpath("media.sha256").read_text().splitlines()
    }
    assert listed == _digests(source.media)


def test_restore_into_a_fresh_database_gives_back_the_same_rows_media_and_search(
    source: Source, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    target_url = new_database("dst")
    target_media = tmp_path / "restored-media"
    # Inputs from the environment this time, as inside the app container.
    done = _run(
        RESTORE,
        str(source.backup),
        cwd=source.cwd,
        env={"FARMGATE_DATABASE_URL": target_url, "FARMGATE_MEDIA_DIR": str(target_media)},
    )
    assert done.returncode == 0, done.stderr
    assert "Indexed 1 products" in done.stdout  # `farmgate search reindex` ran on the target

    target = db.make_engine(target_url)
    try:
        before, after = _tables(source.engine), _tables(target)
        assert before.keys() == after.keys()
        for table in before.keys() - REBUILT:
            assert after[table] == before[table], table
        assert after["product"] and after["sku"] and after["product_photo"]
        assert _sequences(target) == _sequences(source.engine)
        assert _search_documents(target) == _search_documents(source.engine)
        assert _digests(target_media) == _digests(source.media)

        # The restored database serves searches and takes new rows after the old ones.
        search.reset_for_tests()
        with Session(target) as session:
            assert search.search(session, SearchQuery(q="辣椒")).ids == [source.product_id]
            later = factories.create_account(session)
            assert later.id is not None and later.id > max(r[0] for r in before["account"])
            session.rollback()
    finally:
        target.dispose()


@pytest.mark.parametrize(
    "damage",
    ["dump byte changed", "tarball byte changed", "line removed", "file inside tarball changed"],
)
def test_restore_refuses_a_damaged_backup_and_changes_nothing(
    damage: str, source: Source, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    backup = tmp_path / source.backup.name
    shutil.copytree(source.backup, backup)
    if damage == "dump byte changed":
        _flip_byte(backup / "database.dump")
        expected = "checksum mismatch"
    elif damage == "tarball byte changed":
        _flip_byte(backup / "media.tar.gz")
        expected = "checksum mismatch"
    elif damage == "line removed":
        sums = backup / "SHA256SUMS"
        sums.write_text("".join(ln for ln in sums.read_text().splitlines(True) if "dump" not in ln))
        expected = "does not cover database.dump"
    else:
        # Damage the outer list cannot see (it was recomputed): the per-file sums still do.
        unpacked = tmp_path / "unpacked"
        unpacked.mkdir()
        subprocess.run(
            ["tar", "-xzf", str(backup / "media.tar.gz"), "-C", str(unpacked)], check=True
        )
        victim = next(p for p in sorted(unpacked.rglob("*")) if p.is_file())
        victim.write_bytes(victim.read_bytes() + b"\0")
        subprocess.run(
            ["tar", "-czf", str(backup / "media.tar.gz"), "-C", str(unpacked), "."], check=True
        )
        names = ["MANIFEST", "database.dump", "media.sha256", "media.tar.gz"]
        recomputed = subprocess.run(
            ["sha256sum", *names], cwd=backup, check=True, capture_output=True, text=True
        )
        (backup / "SHA256SUMS").write_text(recomputed.stdout)
        expected = "do not match media.sha256"

    target_url = new_database("bad")
    target_media = tmp_path / "media-target"
    refused = _run(
        RESTORE,
        *("--database-url", target_url, "--media-dir", str(target_media), str(backup)),
        cwd=source.cwd,
    )
    assert refused.returncode != 0
    assert "refusing to restore" in refused.stderr and expected in refused.stderr, refused.stderr
    target = db.make_engine(target_url)
    try:
        assert inspect(target).get_table_names() == []
    finally:
        target.dispose()
    # Nothing unpacked, not even a staging directory left behind.
    assert not target_media.exists() or not any(target_media.iterdir())


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_restore_refuses_a_non_empty_target_unless_forced(
    source: Source, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    target_url = new_database("force")
    target_media = tmp_path / "media"
    args = ("--database-url", target_url, "--media-dir", str(target_media), str(source.backup))
    first = _run(RESTORE, *args, cwd=source.cwd)
    assert first.returncode == 0, first.stderr

    # The target moves on: a new row, a new file.
    target = db.make_engine(target_url)
    try:
        with Session(target) as session:
            factories.create_account(session)
            session.commit()
        accounts = len(_tables(target)["account"])
        stray = target_media / "products" / "stray.webp"
        stray.write_bytes(b"not in the backup")

        again = _run(RESTORE, *args, cwd=source.cwd)
        assert again.returncode != 0
        assert "is not empty" in again.stderr and "--force" in again.stderr, again.stderr
        assert len(_tables(target)["account"]) == accounts  # untouched
        assert stray.exists()

        # An empty database but a media directory that is not: refused as well.
        media_only = _run(
            RESTORE,
            *("--database-url", new_database("media"), "--media-dir", str(target_media)),
            str(source.backup),
            cwd=source.cwd,
        )
        assert media_only.returncode != 0
        assert "media directory" in media_only.stderr and "not empty" in media_only.stderr

        forced = _run(RESTORE, "--force", *args, cwd=source.cwd)
        assert forced.returncode == 0, forced.stderr
        before, after = _tables(source.engine), _tables(target)
        for table in before.keys() - REBUILT:
            assert after[table] == before[table], table
        assert _digests(target_media) == _digests(source.media)
        assert not stray.exists()
    finally:
        target.dispose()


def test_backup_refuses_what_it_cannot_back_up(
    source: Source, tmp_path: Path, new_database: Callable[[str], str]
) -> None:
    media = ("--media-dir", str(source.media))
    sqlite = _run(BACKUP, "--database-url", "sqlite:///x.db", *media, str(tmp_path), cwd=source.cwd)
    assert sqlite.returncode != 0 and "SQLite" in sqlite.stderr
    no_media = _run(
        BACKUP,
        *("--database-url", source.url, "--media-dir", str(tmp_path / "no"), str(tmp_path)),
        cwd=source.cwd,
    )
    assert no_media.returncode != 0 and "does not exist" in no_media.stderr
    # An empty database has no schema revision: not a farmgate database, nothing written.
    unmigrated = _run(
        BACKUP,
        *("--database-url", new_database("empty"), *media, str(tmp_path / "out")),
        cwd=source.cwd,
    )
    assert unmigrated.returncode != 0 and "schema revision" in unmigrated.stderr
    assert list((tmp_path / "out").iterdir()) == []
