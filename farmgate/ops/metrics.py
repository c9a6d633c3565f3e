"""Prometheus metrics at ``/metrics``.

Request latency is measured in each process (by route template, so ``/products/{id}`` is one
series). Business figures (outbox backlog and lag, dead jobs, payment notifications by
outcome, cold-chain excursions) are read from the database when scraped, at most every
``CACHE_SECONDS``: they are then the same whichever process answers, with several uvicorn
workers behind one address. Set ``PROMETHEUS_MULTIPROC_DIR`` to aggregate the request
histograms of several workers too (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel import col

from farmgate.db import session_scope, utcnow
from farmgate.models import ColdShipment, DeadJob, OutboxJob, OutboxStatus, PaymentNotification

CACHE_SECONDS = 10.0
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Histogram(
    "farmgate_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


class DatabaseFigures(Collector):
    """Gauges read from the database at scrape time (cached briefly to spare it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: list[GaugeMetricFamily] = []
        self._at = float("-inf")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            if time.monotonic() - self._at > CACHE_SECONDS:
                try:
                    self._cached = self._read()
                except Exception:  # a scrape must not fail with the database; readyz says why
                    self._cached = []
                self._at = time.monotonic()
            yield from self._cached

    def _read(self) -> list[GaugeMetricFamily]:
        with session_scope() as session:
            by_status = dict(
                session.execute(
                    select(col(OutboxJob.status), func.count()).group_by(col(OutboxJob.status))
                ).all()
            )
            waiting = session.scalar(
                select(func.min(col(OutboxJob.available_at))).where(
                    col(OutboxJob.status).in_([OutboxStatus.PENDING, OutboxStatus.DISPATCHED]),
                    col(OutboxJob.available_at) <= utcnow(),
                )
            )
            dead = session.scalar(select(func.count()).select_from(DeadJob)) or 0
            payments = dict(
                session.execute(
                    select(col(PaymentNotification.outcome), func.count()).group_by(
                        col(PaymentNotification.outcome)
                    )
                ).all()
            )
            shipments = dict(
                session.execute(
                    select(col(ColdShipment.breached), func.count()).group_by(
                        col(ColdShipment.breached)
                    )
                ).all()
            )
        backlog = GaugeMetricFamily(
            "farmgate_outbox_jobs", "Outbox jobs by status.", labels=["status"]
        )
        for status in OutboxStatus:
            backlog.add_metric([status.value], by_status.get(status, 0))
        lag = GaugeMetricFamily(
            "farmgate_outbox_lag_seconds",
            "Age of the oldest job that is due and not started (0 when none).",
        )
        lag.add_metric([], (utcnow() - waiting).total_seconds() if waiting else 0.0)
        dead_jobs = GaugeMetricFamily("farmgate_dead_jobs", "Jobs given up on (dead letters).")
        dead_jobs.add_metric([], dead)
        notes = GaugeMetricFamily(
            "farmgate_payment_notifications",
            "Verified payment notifications by outcome (applied, duplicate, rejected, late...).",
            labels=["outcome"],
        )
        for outcome, count in sorted(payments.items()):
            notes.add_metric([str(outcome)], count)
        cold = GaugeMetricFamily(
            "farmgate_cold_shipments",
            "Cold-chain shipments, with or without a temperature excursion.",
            labels=["excursion"],
        )
        cold.add_metric(["true"], shipments.get(True, 0))
        cold.add_metric(["false"], shipments.get(False, 0))
        return [backlog, lag, dead_jobs, notes, cold]


REGISTRY.register(DatabaseFigures())


# Each series' child, looked up once: ``labels()`` checks and locks on every call.
_series: dict[tuple[str, str, int], Any] = {}


def observe(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, status // 100)
    child = _series.get(key)
    if child is None:
        child = _series[key] = REQUESTS.labels(route, method, f"{status // 100}xx")
    child.observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text format for a scrape (all workers' requests in multiprocess mode)."""
    registry: Any = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(DatabaseFigures())
    return generate_latest(registry), CONTENT_TYPE_LATEST
