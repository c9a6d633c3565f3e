"""Chromium renders Swagger UI at /api/docs under our CSP (no CDN, no inline script)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from farmgate.simulation import LocalServer
from tests.support.browser import ARTIFACTS, CHROMIUM, NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM


class _App(LocalServer):
    name = "farmgate-docs"

    def __init__(self) -> None:
        from farmgate.app import create_app

        super().__init__()
        self._serve(create_app(check_schema=False, run_jobs=False))


@pytest.fixture(scope="module")
def docs_url() -> Iterator[str]:
    server = _App().start()  # the docs need no database: the schema comes from the code
    try:
        yield server.url
    finally:
        server.stop()


def test_swagger_ui_shows_the_operations(docs_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        outside: list[str] = []
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith((docs_url, "data:")) else None,
        )
        page.goto(docs_url + "/api/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        assert page.locator(".opblock").count() > 50
        assert page.locator(".opblock-summary-path", has_text="/api/v1/checkout").count() >= 1
        assert "farmgate" in page.locator(".info .title").inner_text()
        page.screenshot(path=str(ARTIFACTS / "90-api-docs.png"))
        browser.close()
    assert outside == []
    assert not [m for m in problems if "Content Security Policy" in m], problems
