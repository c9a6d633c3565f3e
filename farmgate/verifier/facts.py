"""Holding a lot's public facts against its logged events.

``compare_facts(facts, entries)`` takes the ``facts`` object of the log's lot view (what the
public trace page states: harvest date, plot, inspections, certificates) and the lot's log
entries (already proven to be in the log) and returns one line per fact the events do not
bear out. Extend it here when the page states more facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _effective(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries' data with corrections applied (a correction's ``corrected`` fields replace
    the corrected event's)."""
    by_seq: dict[int, dict[str, Any]] = {}
    ordered: list[dict[str, Any]] = []
    for entry in sorted(entries, key=lambda e: int(e.get("seq", 0))):
        if entry.get("kind") == "correction":
            data = entry.get("data") or {}
            target = by_seq.get(int(data.get("corrects_seq") or 0))
            corrected = data.get("corrected")
            if target is not None and isinstance(corrected, dict):
                target["data"] = {**target["data"], **corrected}
            continue
        copy = {**entry, "data": dict(entry.get("data") or {})}
        by_seq[int(entry.get("seq", 0))] = copy
        ordered.append(copy)
    return ordered


def compare_facts(facts: dict[str, Any], entries: Iterable[dict[str, Any]]) -> list[str]:
    """What the page states that the logged events do not (empty: they agree)."""
    events = _effective(entries)
    problems: list[str] = []
    commissioning = [e["data"] for e in events if e.get("kind") == "commissioning"]
    logged = commissioning[-1] if commissioning else {}

    if facts.get("harvest_date") is not None and facts["harvest_date"] != logged.get(
        "harvest_date"
    ):
        problems.append(
            f"harvest date shown {facts['harvest_date']}, logged {logged.get('harvest_date')}"
        )
    plot = (logged.get("plot") or {}).get("name") or None
    if facts.get("plot") is not None and facts["plot"] != plot:
        problems.append(f"plot shown {facts['plot']!r}, logged {plot!r}")

    def key(item: dict[str, Any], *names: str) -> tuple[Any, ...]:
        return tuple(item.get(n) for n in names)

    fields = ("lab", "report_no", "inspected_on", "passed")
    logged_inspections = {
        key(e["data"], *fields)
        for e in events
        if e.get("kind") == "inspecting" and "report_no" in e["data"]
    }
    for shown in facts.get("inspections") or []:
        if key(shown, *fields) not in logged_inspections:
            problems.append(
                f"inspection {shown.get('report_no')} shown as {key(shown, *fields)}, not as logged"
            )
    shown_reports = {key(s, *fields) for s in facts.get("inspections") or []}
    for missing in logged_inspections - shown_reports:
        problems.append(f"logged inspection {missing[1]} is not shown")

    cert_fields = ("certification", "code", "issued_on")
    logged_certs = {key(e["data"], *cert_fields) for e in events if "certification" in e["data"]}
    for shown in facts.get("certifications") or []:
        if key(shown, *cert_fields) not in logged_certs:
            problems.append(
                f"certificate {shown.get('certification')} {shown.get('code')} shown but not logged"
            )
    return problems
