"""Small Playwright helpers for the browser tests: where Chromium and the screenshots are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("FARMGATE_CHROMIUM", "/usr/bin/chromium")
NEEDS_CHROMIUM = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)",
)


def submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        page.click(selector)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
