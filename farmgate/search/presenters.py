"""Search results as the API and the search page show them: product summaries, highlighted
names and snippets, and facet values with labels, most frequent first."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from farmgate.catalog import views
from farmgate.catalog.schemas import ProductSummary
from farmgate.search.backend import SearchResult


class FacetValue(BaseModel):
    value: Any
    label: str
    count: int


class SearchHitOut(BaseModel):
    product: ProductSummary
    name_html: str  # the name, escaped, with the matched parts in <mark>
    snippet_html: str
    matched: list[str]


class SearchOut(BaseModel):
    q: str
    total: int
    page: int
    pages: int
    hits: list[SearchHitOut]
    facets: dict[str, list[FacetValue]]
    price_min_fen: int | None
    price_max_fen: int | None
    suggestions: list[str]
    relaxed: bool  # no product matched every word: these match some of them


def facet_values(result: SearchResult) -> dict[str, list[FacetValue]]:
    out: dict[str, list[FacetValue]] = {}
    for facet, counts in result.facets.items():
        labels = result.facet_labels.get(facet, {})
        out[facet] = [
            FacetValue(value=value, label=labels.get(value, str(value)), count=count)
            for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        ]
    return out


def search_out(session: Session, result: SearchResult) -> SearchOut:
    """The API's and the search page's view of ``result``: current product summaries."""
    summaries = {p.id: p for p in views.product_rows(session, result.ids)}
    return SearchOut(
        q=result.query.q,
        total=result.total,
        page=result.query.page,
        pages=result.pages,
        hits=[
            SearchHitOut(
                product=summaries[hit.id],
                name_html=hit.name.__html__(),
                snippet_html=hit.snippet.__html__(),
                matched=hit.name.marked + hit.snippet.marked,
            )
            for hit in result.hits
            if hit.id in summaries  # delisted a moment ago: the index follows within seconds
        ],
        facets=facet_values(result),
        price_min_fen=result.price_stats.min_fen if result.price_stats else None,
        price_max_fen=result.price_stats.max_fen if result.price_stats else None,
        suggestions=result.suggestions,
        relaxed=result.relaxed,
    )
