"""A new buyer registers on a 360 px phone with an SMS code read from the simulator's inbox,
and ends signed in. Screenshots in test-artifacts/ (sms-*.png)."""

from __future__ import annotations

import time

from tests.support.browser import NEEDS_CHROMIUM, check_phone, shot, submit

pytestmark = NEEDS_CHROMIUM

# The shared header is checked elsewhere; these pages' own controls must be 44 px high.
OWN_SMALL_TARGETS = """() => [...document.querySelectorAll(
  'main a, main button, main input:not([type=hidden])')]
  .filter(e => e.getClientRects().length)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def _code_from_inbox(inbox, phone: str) -> str:  # type: ignore[no-untyped-def]
    """Read the newest code sent to ``phone`` off the simulator's page (the send job runs in
    the app's background, so the message may take a moment)."""
    deadline = time.monotonic() + 15
    masked = "+86" + phone
    while True:
        inbox.reload()
        row = inbox.locator("tr", has_text=masked).first
        if row.count():
            return str(row.locator(".code").inner_text())
        assert time.monotonic() < deadline, "no SMS reached the simulator"
        inbox.wait_for_timeout(200)


def test_a_new_buyer_registers_with_an_sms_code(page, sms_sim) -> None:  # type: ignore[no-untyped-def]
    phone = "13698765432"
    page.goto("/")
    submit(page, "header >> text=登录/注册")
    assert page.url.endswith("/login/phone")
    check_phone(page, "sms-01-phone", OWN_SMALL_TARGETS)

    page.fill("#phone", "1369876")  # too short: the page says so beside the field
    submit(page, "text=获取验证码")
    assert "手机号" in page.locator("#phone-error").inner_text()
    assert page.input_value("#phone") == "1369876"
    check_phone(page, "sms-02-phone-error", OWN_SMALL_TARGETS)

    page.fill("#phone", phone)
    submit(page, "text=获取验证码")
    assert "验证码已发送至" in page.content() and "136****5432" in page.content()
    check_phone(page, "sms-03-code", OWN_SMALL_TARGETS)

    inbox = page.context.new_page()
    inbox.goto(sms_sim.url + "/")
    code = _code_from_inbox(inbox, phone)
    assert len(code) == 6 and code.isdigit()
    shot(inbox, "sms-04-simulator-inbox")
    inbox.close()

    page.fill("#code", f"{(int(code) + 1) % 1_000_000:06d}")
    submit(page, "text=验证并登录")
    assert "验证码不正确，还可以再试4次" in page.locator("#code-error").inner_text()
    check_phone(page, "sms-05-wrong-code", OWN_SMALL_TARGETS)

    page.fill("#code", code)
    submit(page, "text=验证并登录")
    assert page.locator("header").get_by_text("我的账号").count() == 1  # signed in
    shot(page, "sms-06-signed-in")

    submit(page, "header >> text=我的账号")
    assert "136****5432" in page.content() and "设置密码（可选）" in page.content()
    page.fill("#password", "my farm password")
    submit(page, "text=保存密码")
    assert "密码已保存" in page.content()
    check_phone(page, "sms-07-account", OWN_SMALL_TARGETS)
