"""Structured logs: one JSON object per line, with the request id that caused the work.

The request id comes from the proxy's ``X-Request-ID`` (or is made here), is returned in the
response, and travels into the jobs a request queues (outbox args ``_request_id``), so one
search finds the request and everything it set off. Mobile numbers are masked in every
message: logs are not a place for personal data (PIPL).
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import random
import re
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
ID_CARD = re.compile(r"(?<![\dA-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![\dA-Za-z])")


def new_request_id() -> str:
    """16 hex digits. Not a secret, only a tag for one request's lines and jobs: drawn from the
    process's seeded generator, not the system's (a syscall that lets go of the GIL, on the
    event loop, for every request)."""
    return f"{random.getrandbits(64):016x}"


def mask(text: str) -> str:
    """138****5678 for mobile numbers, the middle of an ID card number hidden."""
    text = MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for key in ("method", "path", "status", "ms", "job", "outbox_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _Handoff(logging.handlers.QueueHandler):
    """Formats a record where it is logged (the request id is a context variable there) and
    hands the line to the writer thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The record itself carries the line on (no handler after this one reads it): a second
        # record would cost as much as the first.
        record.msg = record.message = self.format(record)
        record.args = record.exc_info = record.exc_text = record.stack_info = None
        return record


_writer: logging.handlers.QueueListener | None = None


@atexit.register  # what is queued is written before the process ends
def stop() -> None:
    """Write what is queued and stop the writer thread."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


def configure(level: int = logging.INFO, *, json_lines: bool = True) -> None:
    """Send the process's logs to stderr, as JSON lines (production) or plain text.

    A thread of its own writes them: the thread that logs (the event loop, for each request's
    line) formats the line and queues it, and never waits on the write, which lets go of the
    GIL and, with the request threads busy, waits to get it back while no request moves."""
    global _writer
    # No formatter here prints a record's thread or process: not looking them up for every
    # record is most of what making one costs.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handoff = _Handoff(queue.SimpleQueue())
    if json_lines:
        handoff.setFormatter(JsonFormatter())
    else:
        handoff.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    stop()
    _writer = logging.handlers.QueueListener(handoff.queue, logging.StreamHandler())
    _writer.start()
    root = logging.getLogger()
    root.handlers[:] = [handoff]
    root.setLevel(level)
