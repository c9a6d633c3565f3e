"""Liveness and readiness: what a load balancer or an orchestrator asks before sending work.

``/healthz`` says the process answers. ``/readyz`` says it can do its job: the database
answers and is at the code's migration head, Redis answers when jobs go through it, and the
search backend can answer. Each check reports its time; one failure makes the whole 503.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from farmgate.config import settings
from farmgate.db import check_migrations, session_scope

Check = Callable[[], dict[str, Any]]


def _database() -> dict[str, Any]:
    with session_scope() as session:
        session.execute(text("SELECT 1"))
        return {"dialect": session.get_bind().dialect.name}


def _migrations() -> dict[str, Any]:
    with session_scope() as session:
        # Raises naming the revision it found and the one the code needs.
        check_migrations(session.connection())
    return {}


def _redis() -> dict[str, Any]:
    if not settings.redis_url:
        return {"skipped": "no FARMGATE_REDIS_URL: jobs run in this process"}
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {}


CHECKS: dict[str, Check] = {
    "database": _database,
    "migrations": _migrations,
    "redis": _redis,
}


def add_check(name: str, check: Check) -> None:
    """A domain's own readiness check (search adds its backend's at bootstrap)."""
    CHECKS[name] = check


def readiness() -> tuple[bool, dict[str, Any]]:
    """(ready, detail): every check's outcome and time in ms, errors named but not traced."""
    checks: dict[str, Any] = {}
    ready = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = {"status": "ok", **check()}
        except Exception as exc:
            ready = False
            detail = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}
        detail["ms"] = round((time.perf_counter() - started) * 1000, 1)
        checks[name] = detail
    return ready, {"status": "ok" if ready else "fail", "checks": checks}
