"""/api/docs: Swagger UI from our own origin, under a CSP that lets it run."""

from __future__ import annotations

import re


def test_the_docs_page_and_its_assets_come_from_our_origin(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script
    assert "cdn" not in html.lower() and "//" not in html.replace("http://www.w3.org", "")
    sources = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'href="([^"]+)"', html)
    assert "/static/api-docs.js" in sources
    assert any(s.endswith("swagger-ui-bundle.js") for s in sources)
    for source in sources:
        assert source.startswith("/"), source
        answer = client.get(source)
        assert answer.status_code == 200, source
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp  # scripts: files from here only
    assert "style-src 'self' 'unsafe-inline'" in csp  # Swagger UI's inline styles
    assert "img-src 'self' data:" in csp
    assert "frame-ancestors 'none'" in csp
    # Only this page is relaxed.
    assert "unsafe-inline" not in client.get("/").headers["content-security-policy"]
    assert (
        "unsafe-inline" not in client.get("/api/v1/openapi.json").headers["content-security-policy"]
    )
    assert client.get("/api/v1/openapi.json").json()["paths"]
    start = client.get("/static/api-docs.js").text
    assert "SwaggerUIBundle" in start and "data-openapi-url" in start
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
