"""Trace jobs (rules in farmgate/jobs/__init__.py): alerts that are states of other records."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.jobs.registry import periodic
from farmgate.trace import alerts


@periodic("trace.find_alerts", every_seconds=600)
def find_alerts(session: Session) -> None:
    """Store, once each, alerts for expired certificates still selling and waybills a person
    must check: the console lists stored alerts and never writes when it is only read."""
    alerts.find_new(session)
