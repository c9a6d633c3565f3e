"""Outbound calls to the gateways keep their connections when calls overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from farmgate import outbound
from farmgate.caching import PerProcess
from farmgate.payments import wechat_v3

AT_ONCE = 12  # more than requests keeps by default (10)


class _Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.lock = threading.Lock()
        # Every answer waits until AT_ONCE calls are in: the calls truly overlap.
        self.together = threading.Barrier(AT_ONCE, timeout=10)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateways speak
    server: _Gateway

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.together.wait()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Gateway]:
    server = _Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    outbound.clear()
    monkeypatch.setattr(wechat_v3, "_session", PerProcess(wechat_v3._new_session))
    yield server
    server.shutdown()
    server.server_close()
    outbound.clear()


def _urllib3_pool(url: str) -> int:
    return outbound.request("POST", url, body=b"{}", timeout=10).status


def _wechat_v3_session(url: str) -> int:
    return wechat_v3._SessionRequests().post(url, data=b"{}", timeout=10).status_code


@pytest.mark.parametrize("call", [_urllib3_pool, _wechat_v3_session], ids=["v2-sms", "v3"])
def test_overlapping_calls_keep_their_connections_for_the_next_ones(
    gateway: _Gateway, call: Callable[[str], int], caplog: pytest.LogCaptureFixture
) -> None:
    """A pool that keeps one connection per gateway (urllib3's default) closed all but one
    after their answers: the next overlapping round paid new handshakes."""
    url = f"http://127.0.0.1:{gateway.server_port}/pay/unifiedorder"
    with ThreadPoolExecutor(AT_ONCE) as threads:
        for _ in range(3):
            assert list(threads.map(call, [url] * AT_ONCE)) == [200] * AT_ONCE
    assert gateway.connections == AT_ONCE
    assert "pool is full" not in caplog.text
