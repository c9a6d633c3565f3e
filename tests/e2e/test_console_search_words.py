"""The township admin edits the trade's vocabulary on a 360 px Chromium: a word typed wrong is
refused beside its field, a new occasion word is added, and the shop's search finds the
products it names at once."""

from __future__ import annotations

from tests.support.browser import NEEDS_CHROMIUM, check_phone, submit

pytestmark = NEEDS_CHROMIUM

ADMIN_PHONE, DEMO_PASSWORD = "13800000000", "farmgate-demo"


def test_the_admin_adds_an_occasion_word_and_search_follows(page, app_url) -> None:  # type: ignore[no-untyped-def]
    page.goto("/search?q=" + "中秋")
    assert "辰溪稻花鱼" not in page.inner_text("main")
    page.goto("/login")
    page.fill("input[name=phone]", ADMIN_PHONE)
    page.fill("input[name=password]", DEMO_PASSWORD)
    submit(page, "button[type=submit]")

    page.goto("/township/search-words")
    assert "稻米" in page.inner_text("main")
    check_phone(page, "search-words-list")

    page.fill("input[name=word]", "中秋")
    page.fill("textarea[name=expansions]", "稻花鱼 腊肉 <礼>")
    submit(page, "form[action='/township/search-words'] button[type=submit]")
    assert "不是一个词" in page.inner_text("#expansions-error")
    assert page.input_value("input[name=word]") == "中秋"  # nothing typed is lost
    check_phone(page, "search-words-error")

    page.fill("textarea[name=expansions]", "稻花鱼、腊肉")
    submit(page, "form[action='/township/search-words'] button[type=submit]")
    assert "已保存：中秋" in page.inner_text("main")
    check_phone(page, "search-words-saved")

    page.goto("/search?q=" + "中秋")
    found = page.inner_text("main")
    assert "辰溪稻花鱼" in found and "湘西腊肉" in found
    check_phone(page, "search-words-shop")
