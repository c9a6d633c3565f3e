"""Log entries: the leaf is the canonical JSON of a trace event as its hash chain covers it.

An entry is ``{"batch": {"cooperative", "gtin", "lot"}, "seq", "kind", "time", "data",
"prev", "hash"}``: everything the event's chain hash covers plus that hash. Canonical JSON is
sorted keys, no spaces, UTF-8 (not ASCII-escaped), no NaN, as farmgate/trace/chain.py hashes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from farmgate.verifier import merkle


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def leaf_bytes(entry: dict[str, Any]) -> bytes:
    return canonical_json(entry)


def entry_leaf_hash(entry: dict[str, Any]) -> bytes:
    return merkle.leaf_hash(leaf_bytes(entry))


def chain_hash_ok(entry: dict[str, Any]) -> bool:
    """Does the entry's own ``hash`` match what it covers (the per-lot chain's rule)?"""
    content = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical_json(content)).hexdigest() == entry.get("hash")
