"""The GS1 Digital Link resolver: linksets, link types, GTIN-only paths, HEAD, the resolver
description and compressed Digital Links (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session

from farmgate.gs1 import compression, resolver
from farmgate.trace import scans
from tests.support.gs1 import lot_story

VECTORS = json.loads(
    (Path(__file__).parent / "support" / "data" / "digital_link_compression.json").read_text()
)["vectors"]
GS1 = "https://gs1.org/voc/"


@pytest.mark.parametrize(("compressed", "path"), sorted(VECTORS.items()))
def test_gs1s_compression_vectors(compressed: str, path: str) -> None:
    assert compression.decompress_path(compressed) == path
    assert compression.compress(compression.decompress(compressed)) == compressed


@pytest.mark.parametrize("junk", ["favicon.ico", "AQnYUc1g", "ZZZZZZZZZZZZ", "AQnYUc1gmiCNV4J"])
def test_what_is_not_a_compressed_link(junk: str) -> None:
    with pytest.raises(compression.NotCompressed):
        compression.decompress(junk)


def test_link_type_names() -> None:
    assert resolver.link_type("gs1:pip") == "pip"
    assert resolver.link_type("https://gs1.org/voc/epcis") == "epcis"
    assert resolver.link_type("all") == "all"
    assert resolver.link_type("gs1:nonsense") is None and resolver.link_type(None) is None


def _path(url: str) -> str:
    return urlsplit(url).path


def test_the_resolver_answers_a_lot(client, farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    story = lot_story(client, farm)
    lot = story["a"]
    path = _path(lot["trace_url"])
    # The linkset, by linkType=all or by content negotiation.
    for response in (
        client.get(path, params={"linkType": "all"}),
        client.get(path, headers={"Accept": "application/linkset+json"}),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/linkset+json")
        (context,) = response.json()["linkset"]
        assert context["anchor"].endswith(path)
        for kind in ("pip", "traceability", "certificationInfo", "epcis"):
            assert context[GS1 + kind][0]["href"].startswith("http"), kind
    pip = client.get(path, params={"linkType": "gs1:pip"}, follow_redirects=False)
    assert pip.status_code == 307
    assert pip.headers["location"].endswith(f"/products/{farm['fresh']}")
    epcis = client.get(path, params={"linkType": f"{GS1}epcis"}, follow_redirects=False)
    target = urlsplit(epcis.headers["location"])
    assert target.path == "/epcis/events"
    assert parse_qs(target.query)["epc"] == [f"https://id.gs1.org{path}"]
    certs = client.get(path, params={"linkType": "gs1:certificationInfo"}, follow_redirects=False)
    assert certs.headers["location"].endswith(path + "#certifications")
    # No linkType, or one not offered: the trace page, its links in the Link header.
    for params in ({}, {"linkType": "gs1:recipeInfo"}, {"linkType": "gs1:traceability"}):
        page = client.get(path, params=params)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert 'rel="linkset"' in page.headers["link"] and f'{GS1}pip"' in page.headers["link"]
    # HEAD answers without counting a scan.
    scans.buffer.reset()
    head = client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert scans.buffer.pending(lot["id"], "").scans == 0
    client.get(path)
    assert scans.buffer.pending(lot["id"], "").scans == 1


def test_a_gtin_alone_goes_to_the_product(client, farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    lot = lot_story(client, farm)["a"]
    response = client.get(f"/01/{lot['gtin']}", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"/products/{farm['fresh']}"
    assert client.head(f"/01/{lot['gtin']}", follow_redirects=False).status_code == 307
    assert client.get("/01/09506000134352", follow_redirects=False).status_code == 404


def test_a_compressed_link_resolves(client, farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    lot = lot_story(client, farm)["a"]
    segment = compression.compress((("01", lot["gtin"]), ("10", lot["lot_code"])))
    response = client.get(f"/{segment}", params={"linkType": "all"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"/01/{lot['gtin']}/10/{lot['lot_code']}?linkType=all"
    followed = client.get(f"/{segment}", params={"linkType": "all"})
    assert followed.json()["linkset"][0]["anchor"].endswith(lot["lot_code"])
    assert client.get("/AQnYUc1gmiCNV4J", follow_redirects=False).status_code == 404


def test_the_resolver_describes_itself(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200
    description = response.json()
    assert description["supportedPrimaryKeys"] == ["01"]
    assert "gs1:pip" in description["linkTypes"] and description["resolverRoot"].startswith("http")
    assert client.head("/.well-known/gs1resolver").status_code == 200
