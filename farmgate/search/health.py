"""The search backend's readiness check (``/readyz``), added by ``farmgate.bootstrap``."""

from __future__ import annotations

from typing import Any

from farmgate.db import session_scope
from farmgate.search import service as search


def ready() -> dict[str, Any]:
    if not search.uses_meilisearch() and search.embedded_store().loading():
        # The start-up thread is loading the snapshot (or building): not ready, said at once.
        raise RuntimeError("embedded search is loading its index")
    with session_scope() as session:
        backend = search.backend(session)
        if not backend.ready():
            raise RuntimeError(f"{backend.name} search is not ready")
        return {"backend": backend.name}
