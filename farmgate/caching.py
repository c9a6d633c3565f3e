"""A small in-process cache with a time to live and one build per key; one object per process.

When an entry is missing or expired, the first caller builds it and every concurrent caller
for the same key waits for that build instead of starting its own (no stampede: a popular
trace page that expires under load is rebuilt once, not once per request in flight). A build
that raises is not cached; the waiting callers then try in turn.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class SingleFlightCache(Generic[V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 2000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.builds = 0  # how many times a value was built (for tests and benches)

    def _fresh(self, key: Hashable) -> tuple[bool, V | None]:
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_seconds:
            return True, hit[1]
        return False, None

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        with self._lock:
            found, value = self._fresh(key)
            if found:
                return value  # type: ignore[return-value]
            gate = self._building.setdefault(key, threading.Lock())
        with gate:  # one builder per key; the others wait here, then find its value
            with self._lock:
                found, value = self._fresh(key)
                if found:
                    return value  # type: ignore[return-value]
            fresh = build()
            with self._lock:
                self.builds += 1
                if len(self._entries) >= self.max_entries:  # bounded: drop everything
                    self._entries.clear()
                self._entries[key] = (time.monotonic(), fresh)
                self._building.pop(key, None)
            return fresh

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class PerProcess(Generic[V]):
    """One object per process, made by ``make`` on first use and never one inherited through
    fork (a forked worker makes its own): an HTTP client shared by every call, say, instead of
    a client, an SSL context and a connection made per call."""

    def __init__(self, make: Callable[[], V]) -> None:
        self._make = make
        self._made: tuple[int, V] | None = None
        self._lock = threading.Lock()

    def get(self) -> V:
        with self._lock:
            if self._made is None or self._made[0] != os.getpid():
                self._made = (os.getpid(), self._make())
            return self._made[1]
