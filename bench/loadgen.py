"""Bounded HTTP load against 127.0.0.1 with wrk (Debian's ``wrk`` package).

A Python client cannot load a server on this 2-core machine fairly (httpx alone topped out
near 200 requests/s against an endpoint wrk drives at 2,500/s), so the benches use wrk with a
Lua script that picks each request's path from a prepared list.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int

    def row(self, *labels: str) -> str:
        cols = " ".join(f"{label:<14}" for label in labels)
        return f"{cols} {self.rps:>9.0f} {self.p50_ms:>8.1f} {self.p99_ms:>8.1f} {self.errors:>7}"


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def drive(
    base_url: str,
    paths: list[str],
    *,
    concurrency: int,
    duration: float,
    if_none_match: list[str] | None = None,
) -> LoadResult:
    """``concurrency`` connections request random ``paths`` for ``duration`` seconds; with
    ``if_none_match`` (one ETag per path), as conditional GETs."""
    assert base_url.startswith("http://127.0.0.1"), "load goes to this machine only"
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    lua = "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
    if if_none_match is None:
        lua += "request = function()\n  return wrk.format(nil, paths[math.random(#paths)])\nend\n"
    else:
        tags = ",".join("'" + tag.replace("\\", "\\\\") + "'" for tag in if_none_match)
        lua += (
            "tags = {" + tags + "}\n"
            "request = function()\n  local i = math.random(#paths)\n"
            '  return wrk.format(nil, paths[i], {["If-None-Match"] = tags[i]})\nend\n'
        )
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "paths.lua"
        script.write_text(lua, encoding="utf-8")
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{int(duration)}s",
                "--latency",
                "-s",
                str(script),
                base_url,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=duration + 60,
        ).stdout
    latency = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", out, re.M))
    if "50" not in latency:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        errors=errors,
        requests=requests,
    )
