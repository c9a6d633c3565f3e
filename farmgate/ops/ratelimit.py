"""Rate limits for the doors people (and scripts) knock on hardest: signing in, checking out,
looking up a guest's order, scanning trace codes and uploading files; per client address and
per signed-in session.

Fixed one-minute windows, counted in Redis when the platform has one (every process then
shares the counts) and in this process's memory otherwise. A Redis that does not answer does
not take the site down: the request goes through and the failure is logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from farmgate.config import settings

log = logging.getLogger(__name__)
WINDOW = 60
# Who the current request is (session or token hash, else address), set by the guard: work
# deep inside a request (decoding an image) is budgeted per client without passing it down.
current_client: ContextVar[str | None] = ContextVar("current_client", default=None)


@dataclass(frozen=True)
class Rule:
    name: str
    methods: frozenset[str]
    path: re.Pattern[str]
    per_ip: int
    per_client: int  # per session cookie or bearer token; 0 = not counted


RULES = (
    Rule("login", frozenset({"POST"}), re.compile(r"^(/login|/api/v1/auth/token)$"), 20, 0),
    Rule("checkout", frozenset({"POST"}), re.compile(r"^(/api/v1)?/checkout$"), 30, 10),
    # Order number + phone answers a guest's name and address: guessing must stay slow.
    Rule(
        "order_lookup",
        frozenset({"POST"}),
        re.compile(r"^(/api/v1/orders/lookup|/my-orders)$"),
        10,
        5,
    ),
    # Every code is a text message someone pays for and a stranger may receive.
    Rule(
        "sms_code",
        frozenset({"POST"}),
        re.compile(r"^(/api/v1/auth/codes|/login/code|/password/reset/code)$"),
        10,
        5,
    ),
    # Answering codes (registration, sign-in and reset by code): guessing must stay slow.
    Rule(
        "register",
        frozenset({"POST"}),
        re.compile(
            r"^(/api/v1/auth/(register|token/sms|password/reset)|/login/verify"
            r"|/password/reset/verify)$"
        ),
        20,
        10,
    ),
    Rule("scan", frozenset({"GET"}), re.compile(r"^/01/"), 240, 0),
    # WeChat's servers are a few addresses; a township shop sees far fewer notifications.
    Rule("notify", frozenset({"POST"}), re.compile(r"^/api/v1/payments/wechat/notify$"), 300, 0),
    Rule(
        "upload",
        frozenset({"POST", "PUT"}),
        # "photo": a courier's handoff photo (/shipments/{id}/handoffs/{id}/photo).
        re.compile(r"/(photos?|readings|import|report|files)$"),
        60,
        30,
    ),
)


def rule_for(method: str, path: str) -> Rule | None:
    for rule in RULES:
        if method in rule.methods and rule.path.search(path):
            return rule
    return None


def client_key(secret: str) -> str:
    """Count a session by a hash of its token, never the token itself."""
    return hashlib.sha256(secret.encode()).hexdigest()[:24]


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._counts) > 50_000:  # old windows go; the current one stays
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def hit(self, key: str, window: int) -> int:
        name = f"{settings.queue_prefix}:rl:{key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, WINDOW * 2)
            count, _ = await pipe.execute()
        return int(count)


class Limiter:
    def __init__(self) -> None:
        self.memory = MemoryCounter()
        self._redis: RedisCounter | None = None
        self._redis_url: str | None = None

    async def _hit(self, key: str, window: int) -> int:
        url = settings.redis_url
        if url:
            if self._redis is None or self._redis_url != url:
                self._redis, self._redis_url = RedisCounter(url), url
            try:
                return await self._redis.hit(key, window)
            except Exception as exc:  # counted here instead while Redis is away
                log.warning("rate limit counter in Redis failed: %s", exc)
        return self.memory.hit(key, window)

    async def check(self, rule: Rule, ip: str, client: str | None) -> int | None:
        """Seconds to wait when over the limit, None when the request may go on."""
        now = time.time()
        window = int(now // WINDOW)
        retry = int((window + 1) * WINDOW - now) + 1
        if await self._hit(f"{rule.name}:ip:{ip}", window) > rule.per_ip:
            return retry
        if client and rule.per_client:
            if await self._hit(f"{rule.name}:client:{client}", window) > rule.per_client:
                return retry
        return None


class TokenBucket:
    """Per key, ``rate`` units a second up to ``burst``: for costs that vary per request (the
    pixels an image decode allocates), where counting requests says little. In this
    process's memory: what it protects is this process's CPU and memory."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, amount: float, *, rate: float, burst: float) -> float | None:
        """Seconds to wait when ``amount`` is not available (nothing taken), else None."""
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > 50_000:  # full buckets need no memory
                self._buckets = {
                    k: (t, at)
                    for k, (t, at) in self._buckets.items()
                    if t + (now - at) * rate < burst
                }
            tokens, at = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if amount > tokens:
                self._buckets[key] = (tokens, now)
                return (min(amount, burst) - tokens) / rate
            self._buckets[key] = (tokens - amount, now)
            return None


decode_pixels = TokenBucket()


def spend_decoded_pixels(pixels: int) -> int | None:
    """Take ``pixels`` from the current client's decode budget
    (``FARMGATE_IMAGE_PIXELS_PER_SECOND``, bursting to one image of the largest size allowed).
    Seconds to wait when it is spent; None outside a request or with limits off."""
    client = current_client.get()
    if client is None or not settings.rate_limits:
        return None
    rate = settings.image_pixels_per_second
    wait = decode_pixels.take(client, pixels, rate=rate, burst=max(settings.max_image_pixels, rate))
    return None if wait is None else max(1, int(wait + 0.999))


limiter = Limiter()
