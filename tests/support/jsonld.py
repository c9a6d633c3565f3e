"""JSON-LD processing offline: a pyld document loader that serves GS1's bundled contexts.

The EPCIS 2.0 context (``https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld``) and
the CBV contexts it imports (``https://gs1.github.io/EPCIS/...``) are read from
shared/standards/epcis/contexts; any other URL fails, so a test never reaches the network.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.standards import STANDARDS_DIR

CONTEXTS = STANDARDS_DIR / "epcis" / "contexts"
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def _path_for(url: str):  # type: ignore[no-untyped-def]
    if url in (EPCIS_CONTEXT, "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"):
        return CONTEXTS / "epcis-context-root.jsonld"
    name = url.rsplit("/", 1)[-1]
    if url.startswith("https://gs1.github.io/EPCIS/") and (CONTEXTS / name).is_file():
        return CONTEXTS / name
    return None


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    from pyld.jsonld import JsonLdError

    path = _path_for(url)
    if path is None:
        raise JsonLdError(
            f"no bundled copy of {url} (tests do not fetch contexts)",
            "jsonld.LoadDocumentError",
            code="loading document failed",
        )
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(path.read_text(encoding="utf-8")),
    }


def expand(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``pyld.jsonld.expand`` with the bundled contexts only."""
    from pyld import jsonld

    return jsonld.expand(document, {"documentLoader": document_loader})  # type: ignore[no-any-return]
