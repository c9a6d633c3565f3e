"""A merchant's notify_url for the payment-provider tests, on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from farmgate.payments.provider import Notification, PaymentError, PaymentProvider


class Merchant:
    """A tiny notify_url: verifies each notification with a provider and answers its ack."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.parsed: list[Notification | Exception] = []
        self.provider: PaymentProvider | None = None
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                merchant.received.append((headers, body))
                status, ctype, answer = 200, "text/plain", b"OK"
                if merchant.provider is not None:
                    try:
                        merchant.parsed.append(merchant.provider.parse_notification(headers, body))
                        status, ctype, answer = merchant.provider.ack(True)
                    except PaymentError as exc:
                        merchant.parsed.append(exc)
                        status, ctype, answer = merchant.provider.ack(False, str(exc))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
