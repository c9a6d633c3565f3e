"""What the app does for caches and slow links: content-hashed static URLs kept for a year,
revalidation with 304 for anything else, gzip for text and never for photos or PDFs."""

from __future__ import annotations

import gzip
import re

from farmgate.config import settings
from farmgate.web.assets import IMMUTABLE, REVALIDATE
from tests.support.images import jpeg


def test_pages_link_static_files_by_content_hash(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/")
    assert page.status_code == 200
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert links, "the home page links its stylesheet and script"
    for link in links:
        assert re.fullmatch(r"/static/[\w.-]+\?v=[0-9a-f]{12}", link), link
        answer = client.get(link)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == IMMUTABLE


def test_an_unversioned_or_stale_url_revalidates_with_a_304(client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/static/site.css", "/static/site.css?v=000000000000"):
        first = client.get(url)
        assert first.status_code == 200
        assert first.headers["cache-control"] == REVALIDATE
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""


def test_text_is_gzipped_and_images_are_not(client) -> None:  # type: ignore[no-untyped-def]
    raw = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert raw.headers.get("content-encoding") == "gzip"
    assert "乡村好物" in raw.text  # httpx inflates it; the bytes on the wire were gzip
    plain = client.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    css = client.get("/static/site.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers.get("content-encoding") == "gzip"
    assert len(gzip.compress(css.content)) < len(css.content)


def test_photos_are_sent_as_they_are(client) -> None:  # type: ignore[no-untyped-def]
    photo = settings.media_dir / "caching-test.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(jpeg((300, 300)))
    try:
        answer = client.get(
            f"{settings.media_url_path}/caching-test.jpg", headers={"Accept-Encoding": "gzip"}
        )
    finally:
        photo.unlink()
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert "content-encoding" not in answer.headers


def test_templates_link_static_files_only_through_asset() -> None:
    """A literal /static/ URL would miss the content hash, and browsers would keep a stale copy
    for an hour or revalidate it on every page."""
    from farmgate.storefront.templating import TEMPLATES_DIR

    literal = [
        str(path.relative_to(TEMPLATES_DIR))
        for path in TEMPLATES_DIR.rglob("*.html")
        if re.search(r"""(?:href|src)=["']/static/""", path.read_text())
    ]
    assert literal == []


def test_a_page_seen_before_comes_back_as_a_304(client) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/")
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    changed = client.get("/", headers={"If-None-Match": 'W/"something-else"'})
    assert changed.status_code == 200 and changed.text == first.text


def test_anonymous_catalogue_reads_may_be_kept_by_a_shared_cache(  # type: ignore[no-untyped-def]
    client, session, shop
) -> None:
    from farmgate.models import Sku

    product_id = session.get(Sku, shop["chilli"]).product_id
    for url in ("/", f"/products/{product_id}", "/api/v1/products", "/api/v1/categories"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["cache-control"] == "public, max-age=30", url
        assert "cookie" in answer.headers["vary"].lower(), url
        assert "set-cookie" not in answer.headers, url
    # Inside WeChat the product page carries a signed share card: this visitor's only.
    wechat = client.get(f"/products/{product_id}", headers={"User-Agent": "MicroMessenger/8.0"})
    assert wechat.headers["cache-control"] == "private, no-cache"


def test_signed_in_and_private_pages_are_never_shared(client, session) -> None:  # type: ignore[no-untyped-def]
    from tests.support import factories as f

    assert client.get("/login").headers["cache-control"] == "private, no-cache"  # sets a cookie
    assert client.get("/cart").headers["cache-control"] == "private, no-cache"
    f.login_browser(client, session, f.create_account(session))
    home = client.get("/")
    assert home.headers["cache-control"] == "private, no-cache"
    assert "退出" in home.text
