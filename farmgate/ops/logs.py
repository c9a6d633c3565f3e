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
import os
import random
import re
import sys
import threading
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

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


# How long an info line may wait for the writer thread: it writes what has queued up this often
# (a warning or worse wakes it at once).
FLUSH_SECONDS = 0.1


class _Writer:
    """A thread that writes queued lines to a stream, a batch at a time.

    Handing each line over with a wake-up (a queue the thread waits on) cost the event loop
    a system call per request and, on a busy machine, the GIL: the woken writer took it.
    Here lines are only appended; the writer looks every FLUSH_SECONDS, or at once when a
    warning or worse is queued."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lines: deque[str] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def put(self, line: str, urgent: bool = False) -> None:
        self._lines.append(line)  # thread-safe, and wakes nobody
        if urgent:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self._write()
        self._write()

    def _write(self) -> None:
        lines = []
        while self._lines:
            lines.append(self._lines.popleft())
        if lines:
            stream = self.stream or sys.stderr  # stderr as it is now (tests capture it)
            try:
                stream.write("\n".join(lines) + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed stream: nothing better to do with them
                pass

    def stop(self) -> None:
        """Write what is queued and end the thread."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5)


class _Handoff(logging.Handler):
    """Formats a record where it is logged (the request id is a context variable there) and
    queues the line for the writer thread."""

    def __init__(self, writer: _Writer) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.writer.put(line, urgent=record.levelno >= logging.WARNING)


_writer: _Writer | None = None


def _after_fork() -> None:
    """A forked child has no writer thread: give it one (its lines were queued in a copy)."""
    global _writer
    if _writer is not None:
        queued, stream = _writer._lines, _writer.stream
        _writer = _Writer(stream)
        _writer._lines.extend(queued)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, _Handoff):
                handler.writer = _writer


os.register_at_fork(after_in_child=_after_fork)


@atexit.register  # what is queued is written before the process ends
def stop() -> None:
    """Write what is queued and stop the writer thread."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


def configure(level: int = logging.INFO, *, json_lines: bool = True) -> None:
    """Send the process's logs to stderr, as JSON lines (production) or plain text.

    A thread of its own writes them (:class:`_Writer`): the thread that logs (the event loop,
    for each request's line) formats the line and queues it, and never waits on the write,
    which lets go of the GIL and, with the request threads busy, waits to get it back while
    no request moves."""
    global _writer
    # No formatter here prints a record's thread or process: not looking them up for every
    # record is most of what making one costs.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    stop()
    _writer = _Writer()
    handoff = _Handoff(_writer)
    if json_lines:
        handoff.setFormatter(JsonFormatter())
    else:
        handoff.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handoff]
    root.setLevel(level)
