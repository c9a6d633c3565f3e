"""The township's dashboard on a phone-sized Chromium: charts drawn, figures shown, printable.

The demo seeds about three months of SAMPLE orders, so the charts have data to draw.
"""

from __future__ import annotations

from tests.support.browser import NEEDS_CHROMIUM, shot, submit

pytestmark = NEEDS_CHROMIUM


def test_the_township_admin_sees_the_dashboard_with_its_charts(page, app_url) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=phone]", "13800000000")
    page.fill("input[name=password]", "farmgate-demo")
    submit(page, "button[type=submit]")
    submit(page, "text=数据看板")
    assert page.url.endswith("/township/dashboard")
    charts = page.locator("svg.chart")
    assert charts.count() >= 3
    # Drawn: each chart has a visible size and marks (bars, lines or slices), or says it has
    # no data (the demo has sales but, say, no parcel signed for yet); the sales trend has data.
    drawn = 0
    for i in range(charts.count()):
        chart = charts.nth(i)
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 50
        marks = chart.locator("rect, path, polyline, circle").count()
        assert marks > 0 or "暂无数据" in chart.inner_html()
        drawn += marks > 0
    assert drawn >= 3 and "暂无数据" not in charts.first.inner_html()
    # The page fits a 360 px phone: nothing wider than the screen but scrollable tables.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 362
    shot(page, "20-township-dashboard")
    page.emulate_media(media="print")
    assert page.locator(".report-filters").first.is_hidden()
    page.emulate_media(media="screen")
    # The export links answer with spreadsheets.
    href = page.locator("a[href*='export.xlsx']").first.get_attribute("href")
    answer = page.request.get(app_url + href if href.startswith("/") else href)
    assert answer.ok and answer.body()[:2] == b"PK"
