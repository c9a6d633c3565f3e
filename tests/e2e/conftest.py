"""What every browser test shares: the demo app in a subprocess, the simulator, a phone-sized
Debian Chromium driven by Playwright, and screenshots in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from farmgate.payments.simulator import SimulatorServer
from farmgate.simulation import free_port
from farmgate.sms.simulator import SmsSimulatorServer
from tests.support.browser import ARTIFACTS, CHROMIUM


@pytest.fixture(scope="module")
def app_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def app_db(app_workdir: Path) -> Path:
    """The demo's SQLite file, for tests that check what really got stored."""
    return app_workdir / "e2e.db"


@pytest.fixture(scope="module")
def app_url(
    pay_sim: SimulatorServer, sms_sim: SmsSimulatorServer, app_workdir: Path
) -> Iterator[str]:
    workdir = app_workdir
    port = free_port()
    env = {
        **os.environ,
        "FARMGATE_DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "FARMGATE_MEDIA_DIR": str(workdir / "media"),
        "FARMGATE_EMBEDDED_JOBS": "true",
        "FARMGATE_WECHAT_APPID": pay_sim.state.appid,
        "FARMGATE_WECHAT_MCH_ID": pay_sim.state.mch_id,
        "FARMGATE_WECHAT_API_KEY": pay_sim.state.api_key,
        "FARMGATE_WECHAT_API_BASE": pay_sim.url,
        "FARMGATE_SIMULATOR": "true",
        **sms_sim.environment(),  # verification codes go to the SMS simulator's inbox
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
