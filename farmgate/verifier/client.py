"""Checking a lot on a farmgate site against its transparency log, remembering what was seen.

``verify_lot(url, lot, key)`` fetches ``/api/v1/translog/lots/{lot}`` (the signed head, the
lot's logged events as the site's records hold them now, one inclusion proof each, and the
facts the public trace page states) and reports, in ``Report.problems``:

- a head not signed by ``key``, or smaller than one seen before, or not an append-only
  extension of it (the consistency proof fails): the log was rewritten;
- an event whose record no longer hashes to its leaf (the inclusion proof fails: altered), a
  logged event missing from the records, a gap in the lot's sequence, or fewer events than
  seen before (deleted);
- a fact on the page that the logged events do not bear out (``facts.compare_facts``).

The state file (``--state``; default ``~/.farmgate-verifier.json``) keeps, per log, the
largest head seen and, per lot, the leaf indices seen. It is only moved forward by a head
that proved consistent.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from farmgate.verifier import merkle, note
from farmgate.verifier.entries import chain_hash_ok, entry_leaf_hash
from farmgate.verifier.facts import compare_facts

API = "/api/v1/translog"
DEFAULT_STATE = Path(os.environ.get("FARMGATE_VERIFY_STATE", "~/.farmgate-verifier.json"))


def b64d(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def load_key(value: str) -> note.PublicKey:
    """A verifier key given as text or as the path of a file holding it."""
    path = Path(value).expanduser()
    return note.parse_vkey(path.read_text() if path.is_file() else value)


@dataclass
class State:
    """What a verifier (or witness) remembers between runs: a small JSON file."""

    path: Path | None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> State:
        if path is None:
            return cls(None, {})
        path = path.expanduser()
        try:
            return cls(path, json.loads(path.read_text()))
        except FileNotFoundError:
            return cls(path, {})

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        temporary.replace(self.path)

    def head(self, origin: str) -> dict[str, Any] | None:
        found = self.data.get("logs", {}).get(origin)
        return found if isinstance(found, dict) else None

    def set_head(self, origin: str, size: int, root: bytes, signed: str) -> None:
        entry = {"size": size, "root": base64.b64encode(root).decode(), "note": signed}
        self.data.setdefault("logs", {})[origin] = entry

    def lot(self, origin: str, lot: str) -> list[int]:
        return list(self.data.get("lots", {}).get(origin, {}).get(lot, []))

    def set_lot(self, origin: str, lot: str, indices: list[int]) -> None:
        self.data.setdefault("lots", {}).setdefault(origin, {})[lot] = sorted(set(indices))


@dataclass
class Report:
    url: str
    lot: str
    size: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "lot": self.lot,
            "ok": self.ok,
            "size": self.size,
            "events": self.events,
            "problems": self.problems,
            "notes": self.notes,
        }


def _get(client: httpx.Client, url: str, **params: Any) -> Any:
    response = client.get(url, params={k: v for k, v in params.items() if v is not None})
    response.raise_for_status()
    return response.json()


def check_head(
    client: httpx.Client, base: str, key: note.PublicKey, head: dict[str, Any], state: State
) -> tuple[note.Checkpoint | None, list[str]]:
    """The checkpoint ``head`` states if it is signed by ``key`` and extends the head ``state``
    remembers; otherwise the problems found (and the remembered head stays)."""
    try:
        checkpoint = note.open_checkpoint(head["note"], key)
    except note.NoteError as exc:
        return None, [f"the log's head is not genuine: {exc}"]
    if checkpoint.size != head.get("size") or base64.b64encode(
        checkpoint.root
    ).decode() != head.get("root"):
        return None, ["the head's fields differ from its signed checkpoint"]
    seen = state.head(key.name)
    if seen is None:
        return checkpoint, []
    old_size, old_root = int(seen["size"]), b64d(seen["root"])
    if checkpoint.size < old_size:
        return None, [
            f"the log shrank from {old_size} to {checkpoint.size} entries since it was last "
            "seen: it was rewritten"
        ]
    try:
        proof = _get(
            client, f"{base}{API}/proof/consistency", first=old_size, second=checkpoint.size
        )["proof"]
    except httpx.HTTPError as exc:
        return None, [f"no consistency proof from {old_size} to {checkpoint.size}: {exc}"]
    if not merkle.verify_consistency(
        old_size, checkpoint.size, old_root, checkpoint.root, [b64d(p) for p in proof]
    ):
        return None, [
            f"the log of {checkpoint.size} entries is not an extension of the one of "
            f"{old_size} seen before: it was rewritten"
        ]
    return checkpoint, []


def verify_lot(
    url: str,
    lot: str,
    key: str | note.PublicKey,
    *,
    gtin: str | None = None,
    state_path: Path | None = DEFAULT_STATE,
    client: httpx.Client | None = None,
) -> Report:
    """Check lot ``lot`` on the site at ``url`` against its log (see the module docstring)."""
    public = note.parse_vkey(key) if isinstance(key, str) else key
    base = url.rstrip("/")
    report = Report(base, lot)
    state = State.load(state_path)
    own = client is None
    http = client or httpx.Client(timeout=30, follow_redirects=True)
    try:
        try:
            view = _get(http, f"{base}{API}/lots/{quote(lot, safe='')}", gtin=gtin)
        except httpx.HTTPError as exc:
            report.problems.append(f"the site did not give the lot's log entries: {exc}")
            return report
        checkpoint, problems = check_head(http, base, public, view["head"], state)
        report.problems += problems
        if checkpoint is None:
            return report
        report.size = checkpoint.size
        _check_entries(view, checkpoint, report)
        seen = state.lot(public.name, lot)
        present = {int(e["index"]) for e in view["entries"] if e.get("entry") is not None}
        for index in seen:
            if index < checkpoint.size and index not in present:
                report.problems.append(f"the event at leaf {index}, seen before, is gone")
        if view.get("waiting"):
            report.notes.append(f"{view['waiting']} event(s) recorded but not logged yet")
        logged = [e["entry"] for e in view["entries"] if e.get("entry") is not None]
        report.problems += compare_facts(view.get("facts") or {}, logged)
        state.set_head(public.name, checkpoint.size, checkpoint.root, view["head"]["note"])
        state.set_lot(public.name, lot, [*seen, *present])
        state.save()
        return report
    finally:
        if own:
            http.close()


def _check_entries(view: dict[str, Any], checkpoint: note.Checkpoint, report: Report) -> None:
    seqs: list[int] = []
    previous: dict[int, str] = {}
    for item in view["entries"]:
        index, entry = int(item["index"]), item.get("entry")
        if entry is None:
            report.problems.append(f"the logged event at leaf {index} is missing from the records")
            continue
        report.events += 1
        seq = int(entry.get("seq", 0))
        seqs.append(seq)
        previous[seq] = str(entry.get("prev"))
        where = f"event {seq} (leaf {index})"
        if (entry.get("batch") or {}).get("lot") != view.get("lot"):
            report.problems.append(f"{where} belongs to another lot")
        if not chain_hash_ok(entry):
            report.problems.append(f"{where} does not match its own chain hash: altered")
        proof = [b64d(p) for p in item["proof"]]
        if not merkle.verify_inclusion(
            index, checkpoint.size, entry_leaf_hash(entry), proof, checkpoint.root
        ):
            report.problems.append(f"{where} is not in the signed log as shown: altered")
    hashes = {int(i["entry"]["seq"]): i["entry"]["hash"] for i in view["entries"] if i.get("entry")}
    for expected, seq in enumerate(sorted(seqs), start=1):
        if seq != expected:
            report.problems.append(f"event {expected} of the lot is missing")
            break
        if seq > 1 and previous.get(seq) != hashes.get(seq - 1):
            report.problems.append(f"event {seq} does not follow event {seq - 1}")
