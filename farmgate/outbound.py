"""Outbound HTTP to the providers' gateways (SMS, WeChat Pay v2): one urllib3 connection pool
per process, gateway and client certificate.

A client made per call built an SSL context (loading the CA bundle, about 10 ms of CPU) and a
new connection each time; httpx and requests, over the same pooled connection, cost about
1.2 M more instructions per call than urllib3, which requests is built on (bench/README.md,
section 11). Pools never retry: the outbox retries a failed job, and a payment call is retried
by its caller with the same key.

A pool keeps as many connections per gateway as the process has threads to make calls
(:func:`connections_kept`). urllib3's default keeps one: under concurrent calls all but one
connection were closed after their answers, and the next calls paid new TCP and TLS
handshakes.

The environment is read once, when a pool is made, the way requests reads it: a proxy
(``HTTPS_PROXY``/``HTTP_PROXY``, ``NO_PROXY``) and a CA bundle (``REQUESTS_CA_BUNDLE``,
``CURL_CA_BUNDLE`` or ``SSL_CERT_FILE``; certifi's by default). A deployment sets them before
the process starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import certifi
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from farmgate.caching import PerProcess
from farmgate.config import get_settings

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")

_pools: PerProcess[dict[tuple[str, str, tuple[str, str] | None], urllib3.PoolManager]] = PerProcess(
    dict
)


def connections_kept() -> int:
    """How many connections a pool keeps per gateway: one per thread that may call at once."""
    return get_settings().web_threads


def pool(url: str, cert: tuple[str, str] | None = None) -> urllib3.PoolManager:
    """The pool for calls to ``url``'s host (``cert``: a client certificate and its key)."""
    scheme, host = urlsplit(url)[:2]
    pools = _pools.get()
    key = (scheme, host, cert)
    found = pools.get(key)
    if found is None:
        found = pools[key] = _make(scheme, host, cert)
    return found


class Unreachable(Exception):
    """No answer came: the connection was refused, reset or its TLS failed, or it timed out
    (``timed_out``). Every case is worth trying again later."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    cert: tuple[str, str] | None = None,
) -> urllib3.BaseHTTPResponse:
    """One call through ``url``'s pool, its answer read whole; Unreachable if none came."""
    try:
        return pool(url, cert).request(method, url, body=body, headers=headers, timeout=timeout)
    except NewConnectionError as exc:  # a subclass of urllib3's timeouts, but refused
        raise Unreachable(str(exc), timed_out=False) from exc
    except Urllib3Timeout as exc:
        raise Unreachable(str(exc), timed_out=True) from exc
    except HTTPError as exc:  # reset, closed mid-answer, TLS...
        raise Unreachable(str(exc), timed_out=False) from exc


def _make(scheme: str, host: str, cert: tuple[str, str] | None) -> urllib3.PoolManager:
    bundle = next(filter(None, map(os.environ.get, CA_BUNDLE_VARIABLES)), None)
    options: dict[str, Any] = {
        "retries": False,
        "ca_certs": bundle or certifi.where(),
        "maxsize": connections_kept(),
    }
    if cert is not None:
        options["cert_file"], options["key_file"] = cert
    proxy = getproxies().get(scheme)
    if proxy and not proxy_bypass(host.partition(":")[0]):
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


def clear() -> None:
    """Forget this process's pools: the next call reads the environment again (tests)."""
    _pools.get().clear()
