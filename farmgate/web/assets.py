"""Static files with content-hashed URLs, cached for a year by browsers and shared caches.

Pages link ``asset_url("site.css")`` -> ``/static/site.css?v=<first 12 hex of its SHA-256>``.
A request carrying the file's current hash is immutable (a new file has a new URL); any other
request for the file (no ``v``, an old ``v``) must revalidate, with the ETag and Last-Modified
that Starlette's StaticFiles already answers 304 to.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"

_hashes: dict[tuple[Path, float], str] = {}


def content_hash(path: Path) -> str:
    """The file's version: recomputed only when its modification time changes."""
    key = (path, path.stat().st_mtime)
    found = _hashes.get(key)
    if found is None:
        found = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        _hashes[key] = found
    return found


class VersionedStatic(StaticFiles):
    """StaticFiles that knows which URLs may be cached forever."""

    def __init__(self, directory: Path, prefix: str) -> None:
        super().__init__(directory=directory)
        self.root = directory
        self.prefix = prefix.rstrip("/")

    def url(self, name: str) -> str:
        return f"{self.prefix}/{name}?v={content_hash(self.root / name)}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            wanted = _query_value(scope, b"v")
            current = self._current_hash(path)
            fresh = wanted is not None and current is not None and wanted == current
            response.headers["Cache-Control"] = IMMUTABLE if fresh else REVALIDATE
        return response

    def _current_hash(self, path: str) -> str | None:
        target = (self.root / path).resolve()
        if not target.is_file() or not target.is_relative_to(self.root.resolve()):
            return None
        return content_hash(target)


def _query_value(scope: Scope, name: bytes) -> str | None:
    query: bytes = scope.get("query_string", b"")
    for part in query.split(b"&"):
        key, _, value = part.partition(b"=")
        if key == name:
            return value.decode("ascii", "replace")
    return None
