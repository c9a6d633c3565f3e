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

With ``FARMGATE_BENCH_CALLS`` set it also counts every Python and C function call, by part
(``calls <part>``; "loop" for the event loop's thread) and by function (``call <file>
<function>``), through ``sys.setprofile``: exact counts that repeat from run to run, where a
sampling profile only estimates (``checkout.py --calls``); with ``FARMGATE_BENCH_CALLS_IN``
(parts, comma-separated) also by function within those parts (``call in <part>: ...``).
Entering a function counts, and so does each resumption of a coroutine. It makes the server
several times slower, so its CPU figures mean nothing in that mode.
"""

from __future__ import annotations

import json
import os
import signal
import sys
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
    (``db.insert_row``'s Core INSERTs are not flushes). Rows made by ``db.new_row`` are made
    as loaded ones are, without the constructor's "init" event: they are not counted."""
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


_calls: dict[tuple[str, str], int] = {}
# Parts whose calls are also counted by function (``checkout.py --calls-in``).
_CALLS_IN = set(filter(None, os.environ.get("FARMGATE_BENCH_CALLS_IN", "").split(",")))
_SITE = str(Path(uvicorn.__file__).parent.parent) + "/"
_STDLIB = str(Path(threading.__file__).parent) + "/"


def _count_calls() -> None:
    main = threading.main_thread()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            name = f"{code.co_filename.replace(_SITE, '').replace(_STDLIB, '')} {code.co_name}"
        elif event == "c_call":
            name = f"<c> {getattr(arg, '__qualname__', '?')}"
        else:
            return
        part = getattr(_current, "part", None)
        if part is None:
            part = "loop" if threading.current_thread() is main else "other threads"
        key = (part, name)
        _calls[key] = _calls.get(key, 0) + 1  # the GIL makes this one step

    threading.setprofile(profile)
    sys.setprofile(profile)


def _calls_totals() -> dict[str, list[float]]:
    totals: dict[str, list[float]] = {}
    for (part, name), count in list(_calls.items()):
        totals.setdefault(f"calls {part}", [0, 0.0])[0] += count
        totals.setdefault(f"call {name}", [0, 0.0])[0] += count
        if part in _CALLS_IN:
            totals.setdefault(f"call in {part}: {name}", [0, 0.0])[0] += count
    return totals


def _write(*_: object) -> None:
    path = Path(os.environ["FARMGATE_BENCH_PARTS"])
    counting = sys.getprofile()
    sys.setprofile(None)  # the snapshot's own calls are not the server's work
    with _lock:
        text = json.dumps({**_totals, **_calls_totals()})
    sys.setprofile(counting)
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


def install() -> None:
    unit.Unit.run = _timed(  # type: ignore[method-assign]
        lambda _self, call, *_, **__: getattr(call, "__name__", "?"), unit.Unit.run
    )
    runner.run_claimed = _timed(lambda claim: f"job:{claim.job}", runner.run_claimed)
    runner.claim_due = _timed(lambda *_: "claim", runner.claim_due)
    signal.signal(signal.SIGUSR1, _write)
    if os.environ.get("FARMGATE_BENCH_CALLS"):
        _count_calls()  # alone: the ORM's and SQL's counting listeners would be counted too
    else:
        _count_orm()
        _count_sql()


if __name__ == "__main__":
    install()
    uvicorn.main()
