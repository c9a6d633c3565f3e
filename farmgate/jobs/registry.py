"""Every job function is registered here, by name, with its queue, tries and timeout."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from farmgate.config import settings

JobBody = Callable[[Session, dict[str, Any]], Any]
Queue = Literal["quick", "slow"]

# Modules whose import registers the platform's jobs. Later capabilities add theirs here.
BUILTIN_JOB_MODULES = (
    "farmgate.jobs.builtin",
    "farmgate.orders.tasks",
    "farmgate.payments.tasks",
    "farmgate.coldchain.tasks",
    "farmgate.logistics.tasks",
    "farmgate.search.tasks",
    "farmgate.reports.tasks",
)


@dataclass(frozen=True)
class JobSpec:
    name: str
    body: JobBody
    queue: Queue
    max_tries: int
    timeout: float  # seconds; outbound HTTP timeouts in the body must stay below it
    backoff_base: float  # first retry after this many seconds, doubling each time
    backoff_max: float

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * 2 ** max(0, attempt - 1)))


_REGISTRY: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    queue: Queue = "quick",
    max_tries: int = 5,
    timeout: float = 30,
    backoff_base: float = 5,
    backoff_max: float = 900,
) -> Callable[[JobBody], JobBody]:
    """Register ``body`` as the job ``name``; see farmgate/jobs/__init__.py for the rules."""

    def decorator(body: JobBody) -> JobBody:
        if name in _REGISTRY and _REGISTRY[name].body is not body:
            raise ValueError(f"job {name!r} registered twice")
        _REGISTRY[name] = JobSpec(name, body, queue, max_tries, timeout, backoff_base, backoff_max)
        return body

    return decorator


@dataclass(frozen=True)
class PeriodicSpec:
    """Work done on a clock (arq cron with Redis, the embedded runner's timer without)."""

    name: str
    body: Callable[[Session], Any]
    every_seconds: int  # 30, 60 or a whole number of minutes


_PERIODIC: dict[str, PeriodicSpec] = {}


def periodic(
    name: str, *, every_seconds: int
) -> Callable[[Callable[[Session], Any]], Callable[[Session], Any]]:
    if every_seconds not in (30,) and every_seconds % 60:
        raise ValueError("every_seconds must be 30 or a whole number of minutes")

    def decorator(body: Callable[[Session], Any]) -> Callable[[Session], Any]:
        _PERIODIC[name] = PeriodicSpec(name, body, every_seconds)
        return body

    return decorator


def periodic_jobs() -> dict[str, PeriodicSpec]:
    load_jobs()
    return _PERIODIC


def load_jobs() -> dict[str, JobSpec]:
    for module in (*BUILTIN_JOB_MODULES, *settings.job_modules):
        importlib.import_module(module)
    return _REGISTRY


def get(name: str) -> JobSpec | None:
    load_jobs()
    return _REGISTRY.get(name)


def queue_name(queue: str) -> str:
    return f"{settings.queue_prefix}:{queue}"
