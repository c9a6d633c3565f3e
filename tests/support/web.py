"""Reading the server-rendered pages the way a browser form would."""

from __future__ import annotations

import re


def csrf_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


# What a browser sends with a form posted from one of the site's own pages (TestClient's host).
SAME_ORIGIN = {"Origin": "http://testserver"}
