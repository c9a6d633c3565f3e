"""The addresses outside systems call us back on, in one place.

The payment and courier services hand these to the provider (``public_url``); the API routers
declare their routes with the same constants, so the address given out and the route that
answers it cannot drift apart. Plain strings, no web framework: domain code may import this.
"""

from __future__ import annotations

from farmgate.config import settings

API_PREFIX = "/api/v1"
# Relative to API_PREFIX, as the routers declare them.
WECHAT_PAY_NOTIFY = "/payments/wechat/notify"
KUAIDI100_PUSH = "/logistics/kuaidi100/push"


def public_url(route: str) -> str:
    """The full address of an API ``route`` on the platform's public host."""
    return settings.public_base_url.rstrip("/") + API_PREFIX + route
