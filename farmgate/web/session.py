"""The database session dependency: one unit of work per request, the only place that commits.

The session is opened without touching the database; each sync callable that takes it (the
endpoint, and dependencies marked ``reads_in_unit``) runs, commits or rolls back inside one
thread-pool call (farmgate/web/unit.py). Errors flagged ``commit_anyway`` (failed sign-ins
counted for throttling) still commit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from farmgate.web.unit import SAFE_METHODS, request_session

get_session = request_session

# scope="function": commit BEFORE the response is sent. FastAPI's default ("request") would
# commit after it, so a client could be told "done" about a write that then fails, and its
# next request (say the redirect after a form) could read the database before the commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

__all__ = ["SAFE_METHODS", "SessionDep", "get_session"]
