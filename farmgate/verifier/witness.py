"""A witness: someone else (the county, a partner) keeps the log's signed heads and checks later
that the site still stands by them.

``pull(url, store, key)`` fetches the latest head, checks its signature and that it extends the
largest head already stored (a consistency proof), and stores it as ``STORE/heads/<size>.note``
(a plain signed note: any copy, a printout, a git repository, serves as evidence).
``check(url, store, key)`` re-verifies every stored note's signature, asks the site for its
head at each stored size (a different root at the same size is a fork: two signed, conflicting
statements), and checks the site's latest head extends the largest stored. A failed check
writes the conflicting signed heads to ``STORE/evidence/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from farmgate.verifier import merkle, note
from farmgate.verifier.client import API, b64d


@dataclass
class WitnessReport:
    stored: int = 0  # heads held after the run
    latest: int | None = None  # the size of the site's latest head
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def stored_heads(store: Path, key: note.PublicKey) -> tuple[dict[int, note.Checkpoint], list[str]]:
    heads: dict[int, note.Checkpoint] = {}
    problems: list[str] = []
    for path in sorted((store / "heads").glob("*.note")):
        try:
            checkpoint = note.open_checkpoint(path.read_text(), key)
        except note.NoteError as exc:
            problems.append(f"stored head {path.name} does not verify: {exc}")
            continue
        if path.stem != str(checkpoint.size):
            problems.append(f"stored head {path.name} is for size {checkpoint.size}")
        heads[checkpoint.size] = checkpoint
    return heads, problems


def _raw(store: Path, size: int) -> str:
    return (store / "heads" / f"{size}.note").read_text()


def _evidence(store: Path, name: str, payload: dict[str, object]) -> None:
    folder = store / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False))


def _extends(http: httpx.Client, base: str, old: note.Checkpoint, new: note.Checkpoint) -> bool:
    if new.size < old.size:
        return False
    proof = http.get(
        f"{base}{API}/proof/consistency", params={"first": old.size, "second": new.size}
    )
    proof.raise_for_status()
    return merkle.verify_consistency(
        old.size, new.size, old.root, new.root, [b64d(p) for p in proof.json()["proof"]]
    )


def _latest(http: httpx.Client, base: str, key: note.PublicKey) -> tuple[note.Checkpoint, str]:
    response = http.get(f"{base}{API}/head")
    response.raise_for_status()
    signed = response.json()["note"]
    return note.open_checkpoint(signed, key), signed


def pull(
    url: str, store: Path, key: note.PublicKey, client: httpx.Client | None = None
) -> WitnessReport:
    """Store the site's latest head if it is genuine and extends what is stored."""
    base, report = url.rstrip("/"), WitnessReport()
    http = client or httpx.Client(timeout=30)
    try:
        heads, report.problems = stored_heads(store, key)
        try:
            checkpoint, signed = _latest(http, base, key)
        except (httpx.HTTPError, note.NoteError) as exc:
            report.problems.append(f"no genuine head from {base}: {exc}")
            report.stored = len(heads)
            return report
        report.latest = checkpoint.size
        if heads:
            largest = heads[max(heads)]
            if not _extends(http, base, largest, checkpoint):
                report.problems.append(
                    f"the site's head of {checkpoint.size} entries does not extend the stored "
                    f"head of {largest.size}: the log was rewritten"
                )
                _evidence(
                    store,
                    f"rewrite-{largest.size}-{checkpoint.size}",
                    {"stored": _raw(store, largest.size), "served": signed},
                )
                report.stored = len(heads)
                return report
        folder = store / "heads"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{checkpoint.size}.note"
        if not target.exists():
            target.write_text(signed)
        heads[checkpoint.size] = checkpoint
        report.stored = len(heads)
        return report
    finally:
        if client is None:
            http.close()


def check(
    url: str, store: Path, key: note.PublicKey, client: httpx.Client | None = None
) -> WitnessReport:
    """Does the site still stand by every head stored, and extend the largest?"""
    base, report = url.rstrip("/"), WitnessReport()
    http = client or httpx.Client(timeout=30)
    try:
        heads, report.problems = stored_heads(store, key)
        report.stored = len(heads)
        if not heads:
            report.problems.append(f"no heads stored in {store}")
            return report
        try:
            latest, signed = _latest(http, base, key)
        except (httpx.HTTPError, note.NoteError) as exc:
            report.problems.append(f"no genuine head from {base}: {exc}")
            return report
        report.latest = latest.size
        for size, stored in sorted(heads.items()):
            if size > latest.size:
                report.problems.append(
                    f"the site's log has {latest.size} entries, fewer than the {size} of a "
                    "stored head: it was rewritten"
                )
                _evidence(
                    store,
                    f"shrunk-{size}-{latest.size}",
                    {"stored": _raw(store, size), "served": signed},
                )
                continue
            served = http.get(f"{base}{API}/heads/{size}")
            if served.status_code != 200:
                report.problems.append(f"the site gives no head at size {size}")
                continue
            now = note.open_checkpoint(served.json()["note"], key)
            if now.root != stored.root:
                report.problems.append(
                    f"fork at size {size}: the site's head differs from the stored one"
                )
                _evidence(
                    store,
                    f"fork-{size}",
                    {"stored": _raw(store, size), "served": served.json()["note"]},
                )
        largest = heads[max(heads)]
        if largest.size <= latest.size and not _extends(http, base, largest, latest):
            report.problems.append(
                f"the site's head of {latest.size} entries does not extend the stored head "
                f"of {largest.size}"
            )
        return report
    finally:
        if client is None:
            http.close()
