"""A phone-sized Chromium buys from two cooperatives and pays through the simulator.

Runs the real app (``farmgate demo`` in a subprocess, SQLite, embedded jobs) and drives
Debian's Chromium with Playwright. Screenshots land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from farmgate.payments.simulator import SimulatorServer, start_simulator

CHROMIUM = os.environ.get("FARMGATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with start_simulator() as server:
        yield server


@pytest.fixture(scope="module")
def app_url(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {
        **os.environ,
        "FARMGATE_DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "FARMGATE_MEDIA_DIR": str(workdir / "media"),
        "FARMGATE_EMBEDDED_JOBS": "true",
        "FARMGATE_WECHAT_APPID": sim.state.appid,
        "FARMGATE_WECHAT_MCH_ID": sim.state.mch_id,
        "FARMGATE_WECHAT_API_KEY": sim.state.api_key,
        "FARMGATE_WECHAT_API_BASE": sim.url,
        "FARMGATE_SIMULATOR": "true",
    }
    env.pop("FARMGATE_REDIS_URL", None)
    env.pop("FARMGATE_JOB_MODULES", None)  # the test-only jobs are not importable from there
    proc = subprocess.Popen(
        [sys.executable, "-m", "farmgate.cli", "demo", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "server.log", "wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(url + "/api/v1/categories", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the demo server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(workdir / "server.log", ARTIFACTS / "server.log")


@pytest.fixture
def page(app_url: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(
            viewport={"width": 360, "height": 760},
            locale="zh-CN",
            base_url=app_url,
            user_agent="Mozilla/5.0 (X11; Linux x86_64) farmgate-e2e",  # a desktop: pay by QR code
        )
        yield context.new_page()
        browser.close()


def _submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        page.click(selector)


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_phone_buys_from_two_cooperatives_and_pays(page, sim) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.select_option("select[name=category]", "dried_goods")
    _submit(page, "text=筛选")
    assert "谭家场干红辣椒" in page.content() and "辰溪稻花鱼" not in page.content()
    _shot(page, "01-filtered")

    _submit(page, "text=谭家场干红辣椒")
    page.fill("input[name=quantity]", "2")
    _submit(page, "text=加入购物车")
    _shot(page, "02a-cart")
    page.goto("/")
    _submit(page, "text=辰溪稻花鱼")
    _shot(page, "02-product")
    _submit(page, "text=加入购物车")
    assert page.locator(".group h2").count() == 2  # two cooperatives in one cart
    _shot(page, "03-cart")

    _submit(page, "text=去结算")
    for name, value in {
        "recipient": "李四",
        "phone": "13912345678",
        "city": "怀化市",
        "county": "辰溪县",
        "township": "谭家场乡",
        "village": "高坪村",
        "address_detail": "3组12号",
    }.items():
        page.fill(f"input[name={name}]", value)
    _submit(page, "text=提交订单")
    page.wait_for_selector("text=待付款")
    assert page.locator(".group").count() == 2  # one fulfilment per cooperative
    _shot(page, "04-order")

    _submit(page, "text=微信支付")
    page.wait_for_selector(".qr svg")
    _shot(page, "05-qr")
    _shot(page, "05-qr")
    order_url = page.url
    _submit(page, "text=模拟支付")
    page.wait_for_selector("text=确认支付（模拟）")
    _submit(page, "text=确认支付（模拟）")
    page.wait_for_selector("text=支付成功（模拟）")
    for _ in range(50):
        page.goto(order_url)
        if "已付款" in page.content():
            break
        time.sleep(0.2)
    assert "已付款" in page.content()
    _shot(page, "06-paid")


def test_bad_checkout_input_shows_the_messages(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/products/1")
    _submit(page, "text=加入购物车")
    _submit(page, "text=去结算")
    page.fill("input[name=phone]", "12345")
    page.fill("input[name=province]", "")
    _submit(page, "text=提交订单")
    text = page.content()
    assert "请输入11位中国大陆手机号码" in text and "必填" in text
    assert re.search(r'aria-invalid="true"', text)
    _shot(page, "07-checkout-errors")
