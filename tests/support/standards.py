"""Where the standards bodies' reference files are (../shared/standards beside the project).

A clone elsewhere can point at them with FARMGATE_STANDARDS_DIR; tests that need them skip,
saying where they looked, when they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

CANDIDATES = [
    Path(os.environ["FARMGATE_STANDARDS_DIR"])
    if os.environ.get("FARMGATE_STANDARDS_DIR")
    else None,
    Path(__file__).resolve().parents[3] / "shared" / "standards",
    Path("/work/shared/standards"),
]
STANDARDS_DIR = next(
    (p for p in CANDIDATES if p is not None and p.is_dir()),
    Path(__file__).resolve().parents[3] / "shared" / "standards",
)
