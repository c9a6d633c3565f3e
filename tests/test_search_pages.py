"""The storefront's search box, search page and the JSON search API over a small catalogue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from farmgate.models import Role, Sku, Township, Village
from farmgate.search import service as search
from tests.support import factories as f


def _text(html: str) -> str:
    """The page without the highlight marks (a matched name reads 高坪剁<mark>辣椒</mark>)."""
    return html.replace("<mark>", "").replace("</mark>", "")


def _catalogue(session: Session) -> dict[str, int]:
    township = f.create_township(session, villages=("谭家场", "高坪"))
    villages = session.query(Village).filter_by(township_id=township.id).order_by(Village.id).all()
    coop = f.create_cooperative(session, session.query(Township).one())
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    ids = {}
    for name, category, village, price, stock in (
        ("谭家场干红辣椒", "dried_goods", villages[0], 3800, 10),
        ("高坪剁辣椒", "dried_goods", villages[1], 2600, 0),
        ("烟熏腊肉", "meat_eggs", villages[1], 6800, 5),
    ):
        product = f.create_product(session, staff, village, name=name, category=category)
        sku = session.query(Sku).filter_by(product_id=product.id).one()
        sku.price_fen, sku.stock = price, stock
        ids[name] = product.id  # type: ignore[assignment]
    session.commit()
    search.reindex(session)
    session.commit()
    return ids


def test_the_search_page_highlights_filters_and_sorts(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ids = _catalogue(session)
    page = client.get("/search", params={"q": "辣椒"})
    assert page.status_code == 200
    assert "共 2 件商品" in page.text and "<mark>辣椒</mark>" in page.text
    assert "<script" in page.text and "/static/search.js" in page.text  # completions only
    # Facet links narrow the results; the chosen one becomes a removable chip.
    village_link = re.search(r'href="(/search\?[^"]*village_id=\d+[^"]*)">高坪</a>', page.text)
    assert village_link is not None
    narrowed = client.get(village_link.group(1).replace("&amp;", "&"))
    narrowed_text = _text(narrowed.text)
    assert "共 1 件商品" in narrowed_text and "高坪剁辣椒" in narrowed_text
    assert "产地村：高坪 ✕" in narrowed_text
    cheap_first = _text(client.get("/search", params={"q": "辣椒", "sort": "price_asc"}).text)
    assert cheap_first.index("高坪剁辣椒") < cheap_first.index("谭家场干红辣椒")
    stocked = _text(client.get("/search", params={"q": "辣椒", "in_stock": "1"}).text)
    assert "共 1 件商品" in stocked and "谭家场干红辣椒" in stocked
    priced = client.get("/search", params={"price_min": "30", "price_max": "70"}).text
    assert "共 2 件商品" in priced and "高坪剁辣椒" not in priced
    # Hand-edited nonsense is read leniently: a page, never an error.
    odd = client.get("/search", params={"q": "腊肉", "page": "x", "sort": "no", "price_min": "abc"})
    assert odd.status_code == 200 and "烟熏腊肉" in _text(odd.text)
    assert ids


def test_no_results_offer_nearer_words(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _catalogue(session)
    page = client.get("/search", params={"q": "腊肉 辣椒酱 火锅"})
    assert page.status_code == 200
    assert "部分匹配" in page.text or "没有找到相关商品" in page.text
    nothing = client.get("/search", params={"q": "拖拉机"})
    assert "没有找到相关商品" in nothing.text


def test_the_json_api_and_completions(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ids = _catalogue(session)
    body = client.get("/api/v1/search", params={"q": "lajiao", "sort": "price_desc"}).json()
    assert [h["product"]["id"] for h in body["hits"]] == [ids["谭家场干红辣椒"], ids["高坪剁辣椒"]]
    counts = {v["label"]: v["count"] for v in body["facets"]["village_id"]}
    assert counts == {"谭家场": 1, "高坪": 1}
    bad = client.get("/api/v1/search", params={"page_size": 500})
    assert bad.status_code == 422 and bad.json()["error"]["code"]
    assert client.get("/api/v1/search", params={"sort": "cheapest"}).status_code == 422
    completions = client.get("/api/v1/search/suggest", params={"q": "la"}).json()["suggestions"]
    assert any("辣椒" in s or "腊肉" in s for s in completions)
    assert client.get("/api/v1/search/suggest", params={"q": " "}).json()["suggestions"] == []


@pytest.mark.parametrize("q", ["1 1", "500g 500g", "辣椒 辣椒", "lajiao lajiao 辣椒"])
def test_a_repeated_word_is_searched_once(client, session: Session, q: str) -> None:  # type: ignore[no-untyped-def]
    _catalogue(session)
    api = client.get("/api/v1/search", params={"q": q})
    assert api.status_code == 200, api.text
    page = client.get("/search", params={"q": q})
    assert page.status_code == 200, page.text
    if "辣椒" in q:
        assert api.json()["total"] >= 1


def test_the_meilisearch_query_names_a_repeated_word_once() -> None:
    from farmgate.search.meili import query_text

    assert query_text("500g 500g")[0] == query_text("500g")[0]
    assert query_text("1 1 辣椒 辣椒")[0].split().count("辣椒") == 1
