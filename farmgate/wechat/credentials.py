"""The official account's access_token and jsapi_ticket, cached for every process.

Both last 7200 s and WeChat limits how often they may be fetched (2000 tokens a day), so they
are kept where every web process and worker sees them: Redis when ``FARMGATE_REDIS_URL`` is set,
otherwise the ``wechat_credential`` table (written in a transaction of its own, so a page that
only reads still shares what it fetched). A value is fetched again ``REFRESH_MARGIN`` before it
expires, and at once when WeChat calls it invalid (40001/42001, see ``client.py``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from farmgate.config import settings
from farmgate.db import session_scope, utcnow
from farmgate.models import WeChatCredential
from farmgate.wechat.errors import WeChatUnavailable

REFRESH_MARGIN = timedelta(minutes=5)
# After WeChat could not be reached, pages do not wait on it again for this long (a share card
# is not worth a stalled product page). Kept per process: it is only a pause, not a value.
BACKOFF_SECONDS = 30.0
_unreachable_until: dict[str, float] = {}


class Cached(Protocol):
    def get(self, name: str) -> tuple[str, datetime] | None: ...
    def put(self, name: str, value: str, expires_at: datetime) -> None: ...
    def drop(self, name: str) -> None: ...


class DatabaseStore:
    """The ``wechat_credential`` table; each call is its own short transaction."""

    def get(self, name: str) -> tuple[str, datetime] | None:
        with session_scope() as session:
            row = session.get(WeChatCredential, name)
            return (row.value, row.expires_at) if row else None

    def put(self, name: str, value: str, expires_at: datetime) -> None:
        try:
            with session_scope() as session:
                row = session.get(WeChatCredential, name)
                if row is None:
                    row = WeChatCredential(name=name, value=value, expires_at=expires_at)
                else:
                    row.value, row.expires_at = value, expires_at
                session.add(row)
        except IntegrityError:  # another process stored one first: theirs is as good
            pass

    def drop(self, name: str) -> None:
        with session_scope() as session:
            session.execute(delete(WeChatCredential).where(WeChatCredential.name == name))  # type: ignore[arg-type]


class RedisStore:
    """One Redis key per value, expiring with it."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = f"{settings.queue_prefix}:wechat:"

    def get(self, name: str) -> tuple[str, datetime] | None:
        raw: Any = self.redis.get(self.prefix + name)
        if raw is None:
            return None
        data = json.loads(raw)
        return data["value"], datetime.fromisoformat(data["expires_at"])

    def put(self, name: str, value: str, expires_at: datetime) -> None:
        seconds = max(1, int((expires_at - utcnow()).total_seconds()))
        payload = json.dumps({"value": value, "expires_at": expires_at.isoformat()})
        self.redis.set(self.prefix + name, payload, ex=seconds)

    def drop(self, name: str) -> None:
        self.redis.delete(self.prefix + name)


_stores: dict[str | None, Cached] = {}


def store() -> Cached:
    """Redis when configured, else the database (one store per configuration)."""
    url = settings.redis_url
    if url not in _stores:
        _stores[url] = RedisStore(url) if url else DatabaseStore()
    return _stores[url]


def cached(name: str, fetch: Callable[[], tuple[str, int]]) -> str:
    """The value kept under ``name``, or ``fetch()``'s (value, expires_in seconds) stored when
    there is none or it expires within ``REFRESH_MARGIN``."""
    now = utcnow()
    kept = store().get(name)
    if kept is not None and kept[1] - now > REFRESH_MARGIN:
        return kept[0]
    usable = kept[0] if kept is not None and kept[1] > now else None  # in its last minutes
    if time.monotonic() < _unreachable_until.get(name, 0):
        if usable is not None:
            return usable
        raise WeChatUnavailable("微信接口暂时无法连接，请稍后重试")
    try:
        value, expires_in = fetch()
    except WeChatUnavailable:
        _unreachable_until[name] = time.monotonic() + BACKOFF_SECONDS
        if usable is not None:
            return usable
        raise
    _unreachable_until.pop(name, None)
    store().put(name, value, utcnow() + timedelta(seconds=expires_in))
    return value


def forget(name: str) -> None:
    store().drop(name)
    _unreachable_until.pop(name, None)
