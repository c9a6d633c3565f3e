"""uvicorn, with the CPU time of each part of the server's work added up: ``checkout.py --parts``.

    python -m bench._parts_server farmgate.asgi:app --port 8000 ...   (uvicorn's arguments)

A part is a request's thread-pool call (``Unit.run``, named by its endpoint), one job body
run by the embedded runner (``job:<name>``) or one of its claims (``claim``). Each adds up
the CPU time of the thread doing it (``time.thread_time``: user and system) and how many
times it ran. It also counts the ORM's work (``orm ...``, with no CPU time): objects
loaded by queries, built in Python and written by a flush, by class, and the SQL statements
each part sends (``sql ...``). On SIGUSR1 the totals so
far are written, as JSON, to the file named by ``FARMGATE_BENCH_PARTS``; the bench takes one
snapshot before the orders and one after, and prints the difference. Bench-only: the wrapping
costs two clock reads per part, and the counting an event listener per object.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapper
from sqlmodel import SQLModel

from farmgate.jobs import runner
from farmgate.web import unit

_totals: dict[str, list[float]] = {}
_lock = threading.Lock()


_current = threading.local()


def _timed(name: Callable[..., str], call: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        part = name(*args, **kwargs)
        outer = getattr(_current, "part", None)
        _current.part = part
        start = time.thread_time()
        try:
            return call(*args, **kwargs)
        finally:
            spent = time.thread_time() - start
            _current.part = outer
            with _lock:
                total = _totals.setdefault(part, [0, 0.0])
                total[0] += 1
                total[1] += spent

    return timed


def _count(name: str) -> None:
    with _lock:
        _totals.setdefault(name, [0, 0.0])[0] += 1


def _count_orm() -> None:
    """Count the ORM's objects: loaded by a query, built in Python, written by a flush
    (``db.insert_row``'s Core INSERTs are not flushes)."""
    event.listen(
        SQLModel, "load", lambda obj, _: _count(f"orm loaded {type(obj).__name__}"), propagate=True
    )
    event.listen(
        SQLModel,
        "init",
        lambda obj, *_: _count(f"orm built {type(obj).__name__}"),
        propagate=True,
    )
    for kind in ("insert", "update", "delete"):
        event.listen(
            Mapper,
            f"after_{kind}",
            lambda _m, _c, obj, kind=kind: _count(f"orm flushed ({kind}) {type(obj).__name__}"),
        )


def _count_sql() -> None:
    """Count the SQL statements each part sends (``sql <part>``); with
    ``FARMGATE_BENCH_SQL`` set, also each statement's first words (``sql <part>: ...``)."""
    texts = bool(os.environ.get("FARMGATE_BENCH_SQL"))

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        part = getattr(_current, "part", None) or "outside a part"
        _count(f"sql {part}")
        if texts:
            _count(f"sql {part}: {' '.join(statement.split())[:110]}")

    event.listen(Engine, "before_cursor_execute", executed)


def _write(*_: object) -> None:
    path = Path(os.environ["FARMGATE_BENCH_PARTS"])
    with _lock:
        text = json.dumps(_totals)
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


def install() -> None:
    unit.Unit.run = _timed(  # type: ignore[method-assign]
        lambda _self, call, *_, **__: getattr(call, "__name__", "?"), unit.Unit.run
    )
    runner.run_claimed = _timed(lambda claim: f"job:{claim.job}", runner.run_claimed)
    runner.claim_due = _timed(lambda *_: "claim", runner.claim_due)
    _count_orm()
    _count_sql()
    signal.signal(signal.SIGUSR1, _write)


if __name__ == "__main__":
    install()
    uvicorn.main()
