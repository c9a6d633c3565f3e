"""Media jobs (rules in farmgate/jobs/__init__.py): the daily sweep of files no row names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.jobs.registry import periodic
from farmgate.media import sweep


@periodic("media.sweep", every_seconds=24 * 3600)
def sweep_unnamed(session: Session) -> int:
    """Remove old files that no row names; refuses (and logs) if that is most of them."""
    return sweep.sweep(session).removed
