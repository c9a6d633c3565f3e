"""The database session dependency: one unit of work per request, the only place that commits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from farmgate.db import READ_ONLY, session_factory
from farmgate.errors import FarmgateError

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed if the endpoint succeeds, else rolled back.

    Errors flagged ``commit_anyway`` (failed sign-ins counted for throttling) still commit.
    """
    session = session_factory()()
    if request.method in SAFE_METHODS:
        session.connection(execution_options=READ_ONLY)
    try:
        yield session
        session.commit()
    except FarmgateError as exc:
        if exc.commit_anyway:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit BEFORE the response is sent. FastAPI's default ("request") would
# commit after it, so a client could be told "done" about a write that then fails, and its
# next request (say the redirect after a form) could read the database before the commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
