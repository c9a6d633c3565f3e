"""Jobs of the job machinery itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from farmgate.jobs.registry import job


@job("system.noop", queue="quick", max_tries=3, timeout=5)
def noop(session: Session, args: dict[str, Any]) -> None:
    """Does nothing: measures the pipeline (bench/jobs.py) and checks it end to end."""
