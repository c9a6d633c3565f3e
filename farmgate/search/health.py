"""The search backend's readiness check (``/readyz``), added by ``farmgate.bootstrap``."""

from __future__ import annotations

from typing import Any

from farmgate.db import session_scope
from farmgate.search import service as search


def ready() -> dict[str, Any]:
    with session_scope() as session:
        backend = search.backend(session)
        if not backend.ready():
            raise RuntimeError(f"{backend.name} search is not ready")
        return {"backend": backend.name}
