"""A partner's EPCIS events on a demo lot's trace page, on a 360 px phone (issue 19)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import httpx

from tests.support.browser import NEEDS_CHROMIUM, shot

pytestmark = NEEDS_CHROMIUM


def test_a_partners_receipt_shows_on_the_lots_page(page, app_url, app_db, app_workdir) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "FARMGATE_DATABASE_URL": f"sqlite:///{app_db}"}
    env.pop("FARMGATE_JOB_MODULES", None)  # the tests' own job modules: not importable there
    env.pop("FARMGATE_REDIS_URL", None)  # the demo's database, as the demo runs it
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "farmgate.cli",
            "partners",
            "add",
            "辰溪县邮政",
            "--kind",
            "post_office",
        ],
        cwd=app_workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    key = next(line for line in made.stdout.splitlines() if line.startswith("fgp_"))
    with sqlite3.connect(app_db) as db:
        gtin, lot = db.execute("SELECT gtin, lot_code FROM batch ORDER BY id LIMIT 1").fetchone()
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-07-02T10:05:00+08:00",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-07-02T10:00:00+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "quantityList": [{"epcClass": f"https://id.gs1.org/01/{gtin}/10/{lot}"}],
                    "action": "OBSERVE",
                    "bizStep": "accepting",
                }
            ]
        },
    }
    answer = httpx.post(
        f"{app_url}/epcis/capture", json=document, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 202, answer.text
    page.goto(f"/01/{gtin}/10/{lot}")
    page.wait_for_selector("text=合作伙伴记录")
    assert "辰溪县邮政" in page.content() and "签收" in page.content()
    page.locator("text=合作伙伴记录").scroll_into_view_if_needed()
    # The section adds no tap targets (the storefront header's own are the header's business):
    # it must fit the phone and take nothing outside the page's width.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    section = page.locator(".partner-events")
    assert section.bounding_box()["width"] <= 360  # type: ignore[index]
    shot(page, "gs1-partner-events")
