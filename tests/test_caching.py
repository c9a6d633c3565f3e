"""The in-process cache builds each key once, however many requests ask at the same moment."""

from __future__ import annotations

import threading
import time

import pytest

from farmgate.caching import SingleFlightCache


def test_concurrent_misses_on_one_key_build_it_once() -> None:
    cache: SingleFlightCache[int] = SingleFlightCache(ttl_seconds=60)
    calls = 0
    started = threading.Barrier(20)

    def slow_build() -> int:
        nonlocal calls
        calls += 1
        time.sleep(0.05)  # a build that takes long enough for all twenty to arrive
        return 42

    def ask() -> None:
        started.wait()
        assert cache.get("lot-1", slow_build) == 42

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == 1 and cache.builds == 1


def test_keys_are_independent_and_entries_expire() -> None:
    cache: SingleFlightCache[str] = SingleFlightCache(ttl_seconds=0.01)
    assert cache.get("a", lambda: "A") == "A"
    assert cache.get("b", lambda: "B") == "B"
    assert cache.get("a", lambda: "again") == "A"
    time.sleep(0.02)
    assert cache.get("a", lambda: "again") == "again"
    assert cache.builds == 3


def test_a_failed_build_is_not_kept() -> None:
    cache: SingleFlightCache[str] = SingleFlightCache(ttl_seconds=60)

    def broken() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("a", broken)
    assert cache.get("a", lambda: "ok") == "ok"
