"""Every job, registered by name with its queue, tries and timeout; and the handles that queue it.

``@job("reports.refresh_day", ...)`` turns a body into a ``JobHandle``: callers queue work with
``refresh_day.enqueue(session, {"day": "2026-09-01"}, key=...)``, its payload checked against
the body's ``TypedDict``. The name stays the row's ``job`` column, so rows queued before a
release still find their body. Which modules hold jobs is said once, in
``farmgate.bootstrap.install()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

from sqlalchemy.orm import Session

from farmgate.config import settings

JobBody = Callable[[Session, dict[str, Any]], Any]
# Told of each failed try in the transaction that records it: (session, args, error, dead).
FailureHook = Callable[[Session, dict[str, Any], str, bool], None]
Queue = Literal["quick", "slow"]
# A job's payload: a TypedDict (stored as the row's JSON ``args``).
P = TypeVar("P", bound=Mapping[str, Any])


@dataclass(frozen=True)
class JobSpec:
    name: str
    body: JobBody
    queue: Queue
    max_tries: int
    timeout: float  # seconds; outbound HTTP timeouts in the body must stay below it
    backoff_base: float  # first retry after this many seconds, doubling each time
    backoff_max: float
    on_failure: FailureHook | None = None

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class JobHandle(Generic[P]):
    """A registered job: queue it with ``enqueue``; call it to run the body (tests do)."""

    spec: JobSpec
    body: Callable[[Session, P], Any]

    @property
    def name(self) -> str:
        return self.spec.name

    def enqueue(
        self,
        session: Session,
        args: P,
        *,
        key: str | None = None,
        delay_seconds: float = 0,
        coalesce: bool = False,
    ) -> int:
        """Record that this job must run once the transaction commits; returns the outbox
        row's id (see outbox.enqueue)."""
        from farmgate.jobs import outbox  # outbox looks names up here

        return outbox.enqueue(
            session,
            self.spec.name,
            dict(args),
            key=key,
            delay_seconds=delay_seconds,
            coalesce=coalesce,
        )

    def __call__(self, session: Session, args: P) -> Any:
        return self.body(session, args)


_REGISTRY: dict[str, JobSpec] = {}


QUICK_TIMEOUT_MAX = 30  # seconds; see rule 5 in farmgate/jobs/__init__.py


def job(
    name: str,
    *,
    queue: Queue = "quick",
    max_tries: int = 5,
    timeout: float = 30,
    backoff_base: float = 5,
    backoff_max: float = 900,
    on_failure: FailureHook | None = None,
) -> Callable[[Callable[[Session, P], Any]], JobHandle[P]]:
    """Register ``body`` as the job ``name``; see farmgate/jobs/__init__.py for the rules.

    ``on_failure`` is called after a failed try (the body's own writes are rolled back), in
    the transaction that marks the row retrying or dead, so a domain can record the failure.
    """

    def decorator(body: Callable[[Session, P], Any]) -> JobHandle[P]:
        if name in _REGISTRY and _REGISTRY[name].body is not body:
            raise ValueError(f"job {name!r} registered twice")
        if queue == "quick" and timeout > QUICK_TIMEOUT_MAX:
            raise ValueError(
                f"job {name!r}: a quick job's timeout is at most {QUICK_TIMEOUT_MAX} s "
                "(longer work goes on the slow queue; farmgate/jobs/__init__.py, rule 5)"
            )
        spec = JobSpec(
            name,
            cast(JobBody, body),
            queue,
            max_tries,
            timeout,
            backoff_base,
            backoff_max,
            on_failure,
        )
        _REGISTRY[name] = spec
        return JobHandle(spec, body)

    return decorator


@dataclass(frozen=True)
class PeriodicSpec:
    """Work done on a clock (arq cron with Redis, the embedded runner's timer without)."""

    name: str
    body: Callable[[Session], Any]
    every_seconds: int  # 30, minutes that divide an hour, or hours that divide a day


_PERIODIC: dict[str, PeriodicSpec] = {}


def periodic(
    name: str, *, every_seconds: int
) -> Callable[[Callable[[Session], Any]], Callable[[Session], Any]]:
    minutes, seconds = divmod(every_seconds, 60)
    if every_seconds != 30 and (
        every_seconds <= 0
        or seconds
        or (minutes < 60 and 60 % minutes)
        or (minutes >= 60 and (minutes % 60 or 1440 % minutes))
    ):
        raise ValueError("every_seconds must be 30, minutes that divide an hour or hours a day")

    def decorator(body: Callable[[Session], Any]) -> Callable[[Session], Any]:
        _PERIODIC[name] = PeriodicSpec(name, body, every_seconds)
        return body

    return decorator


def periodic_jobs() -> dict[str, PeriodicSpec]:
    return _PERIODIC


def all_jobs() -> dict[str, JobSpec]:
    """Every registered job (``farmgate.bootstrap.install()`` imports the modules)."""
    return _REGISTRY


def get(name: str) -> JobSpec | None:
    return _REGISTRY.get(name)


def queue_name(queue: str) -> str:
    return f"{settings.queue_prefix}:{queue}"
