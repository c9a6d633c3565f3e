"""The media sweep over a large media directory: time, CPU and memory of one pass.

    .venv/bin/python bench/media_sweep.py --files 100000

Writes ``--files`` one-byte photo variants (100 per folder) into a temporary media
directory, names half of them with ``product_photo`` rows in a temporary SQLite database
(only the tables that name files, foreign keys not enforced: the naming column is what
matters here), then runs
``farmgate.media.sweep.sweep`` twice: a dry run, and a pass that removes the unnamed half.
Prints each pass's wall and CPU seconds and the peak RSS of its process (a process per
pass; farmgate's modules imported, before any work, are about 60 MB of it).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from farmgate.media import sweep
from farmgate.media.storage import LocalMediaStorage
from farmgate.models import ProductPhoto

PER_FOLDER = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--pass", dest="one_pass", help=argparse.SUPPRESS)
    parser.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--remove", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_pass:
        one_pass(args.one_pass, args.dry_run)
        return

    with tempfile.TemporaryDirectory(prefix="farmgate-sweep-") as tmp:
        root = Path(tmp, "media")
        engine = create_engine(f"sqlite:///{tmp}/db.sqlite")
        tables = {column.expression.table for column, _kind in sweep.SOURCES}
        SQLModel.metadata.create_all(engine, tables=sorted(tables, key=lambda t: t.name))
        started = time.perf_counter()
        named = []
        for n in range(args.files):
            folder = root / "products" / str(n // PER_FOLDER)
            if n % PER_FOLDER == 0:
                folder.mkdir(parents=True)
            key = f"products/{n // PER_FOLDER}/{n:016x}"
            (root / f"{key}-320.webp").write_bytes(b"x")
            if n % 2 == 0:
                named.append({"product_id": 1, "position": 0, "storage_key": key})
        with engine.begin() as connection:
            connection.execute(
                insert(ProductPhoto).values(width=320, height=240, widths="320"), named
            )
        print(
            f"{args.files:,} files, {len(named):,} named by product_photo rows "
            f"(made in {time.perf_counter() - started:.1f} s)"
        )
        # Each pass in a process of its own, so that its peak RSS is its own.
        for flag in ("--dry-run", "--remove"):
            subprocess.run([sys.executable, __file__, "--pass", tmp, flag], check=True)


def one_pass(tmp: str, dry_run: bool) -> None:
    engine = create_engine(f"sqlite:///{tmp}/db.sqlite")
    storage = LocalMediaStorage(Path(tmp, "media"), "/media")
    wall, cpu = time.perf_counter(), time.process_time()
    with Session(engine) as session:
        report = sweep.sweep(
            session, storage=storage, grace=timedelta(0), dry_run=dry_run, force=True
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{'dry run' if dry_run else 'removing':>9}: {report.files:,} files, "
        f"{len(report.unnamed):,} unnamed, {report.removed:,} removed; {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU, the process's peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
