"""A courier records a cold-chain handoff with a temperature on a phone-sized Chromium.

The demo seeds a courier (13800000009) with the chilled fish lot's shipment assigned to them.
Submitting the same form twice (a flaky network resending it) records the handoff once.
"""

from __future__ import annotations

import sqlite3

from tests.support.browser import NEEDS_CHROMIUM, shot, submit

pytestmark = NEEDS_CHROMIUM


def test_a_courier_records_a_handoff_with_a_temperature(page, app_url, app_db) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=phone]", "13800000009")
    page.fill("input[name=password]", "farmgate-demo")
    submit(page, "button[type=submit]")
    assert page.url.endswith("/courier") and "辰溪稻花鱼" in page.content()
    before = sqlite3.connect(app_db).execute("SELECT count(*) FROM handoff").fetchone()[0]
    page.fill("input[name=from_party]", "村级配送员")
    page.fill("input[name=to_party]", "谭家场乡邮政所")
    page.fill("input[name=place]", "谭家场乡")
    page.fill("input[name=temperature_c]", "4.5")
    body = page.evaluate(
        "() => new URLSearchParams(new FormData(document.querySelector('form.stack'))).toString()"
    )
    action = page.locator("form.stack").first.get_attribute("action")
    submit(page, "text=记录交接")
    assert "交接已记录" in page.content()
    shot(page, "10-courier-handoff")
    # The same form posted again, as a browser would on a retried request.
    again = page.request.post(
        app_url + action,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.ok
    after = (
        sqlite3.connect(app_db)
        .execute("SELECT count(*), max(temperature_c) FROM handoff")
        .fetchone()
    )
    assert after == (before + 1, 4.5)
