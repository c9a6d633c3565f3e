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


# What a finger cannot hit well: links, buttons and form fields under 44 px high, leaving out the
# skip link and the desk's top bar.
SMALL_TARGETS = """() => [...document.querySelectorAll(
  'a, button, select, textarea, input:not([type=hidden]):not([type=radio]), label.choice')]
  .filter(e => !e.closest('.skip, .desk-top') && e.getClientRects().length)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def check_phone(page, name: str, small_targets: str = SMALL_TARGETS) -> None:  # type: ignore[no-untyped-def]
    """The page fits a 360 px phone (no sideways scrolling) and every tap target is at least 44
    px high; then its screenshot under ``name``."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, (name, width)
    assert page.evaluate(small_targets) == [], name
    shot(page, name)
