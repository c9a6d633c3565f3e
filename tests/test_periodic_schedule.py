"""Periodic jobs: the periods the registry accepts, and arq's schedule for each."""

from __future__ import annotations

from datetime import datetime

import pytest
from arq.cron import next_cron

from farmgate.jobs import registry
from farmgate.workers.arq_worker import _when


@pytest.mark.parametrize("every", [30, 60, 600, 900, 3600, 6 * 3600, 24 * 3600])
def test_a_periodic_jobs_arq_schedule_runs_it_as_often_as_its_period(every: int) -> None:
    """arq's cron fields for each period: as many runs in a day as the period says (a daily
    job once a day, not hourly)."""
    when = _when(registry.PeriodicSpec("x", lambda _s: None, every))
    runs, at = 0, datetime(2026, 11, 30, 23, 59, 59)
    end = datetime(2026, 12, 1, 23, 59, 59)
    while (at := next_cron(at, **when)) < end:
        runs += 1
    assert runs == 24 * 3600 // every


@pytest.mark.parametrize("every", [0, 45, 7 * 60, 90 * 60, 5 * 3600])
def test_a_period_the_schedules_cannot_keep_is_refused(every: int) -> None:
    with pytest.raises(ValueError, match="every_seconds"):
        registry.periodic("x", every_seconds=every)
