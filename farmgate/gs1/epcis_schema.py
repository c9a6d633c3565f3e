"""EPCIS 2.0 JSON documents checked against GS1's JSON Schema (bundled beside this module).

``EPCIS-JSON-Schema.json`` is GS1's inlined draft-07 schema from the gs1/EPCIS repository
(commit 2b888be). Formats are really checked (``rfc3986-validator``, ``rfc3339-validator``):
without them ``format: uri`` passes anything and a bizStep "harvesting" would validate.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("EPCIS-JSON-Schema.json")
MAX_ERRORS = 20


@cache
def _validator() -> Any:
    import jsonschema

    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    missing = {"uri", "date-time"} - set(checker.checkers)
    if missing:  # a deployment without the format validators would accept anything
        raise RuntimeError(f"JSON Schema formats {sorted(missing)} are not checked")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def errors(document: Any) -> list[dict[str, str]]:
    """The schema's complaints about ``document`` (at most ``MAX_ERRORS``): path and message."""
    found = []
    for error in _validator().iter_errors(document):
        path = "/".join(str(p) for p in error.absolute_path)
        found.append({"path": "/" + path, "message": error.message[:300]})
        if len(found) >= MAX_ERRORS:
            break
    return found
