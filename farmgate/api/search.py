"""Product search and the search box's completions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from farmgate.api.deps import SessionDep
from farmgate.catalog import views
from farmgate.catalog.schemas import ProductSummary
from farmgate.search import service
from farmgate.search.backend import (
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    SearchFilters,
    SearchQuery,
    SearchResult,
    SortOrder,
)

router = APIRouter(tags=["搜索"])


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


def search_out(session: SessionDep, result: SearchResult) -> SearchOut:
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


@router.get("/search", response_model=SearchOut, summary="搜索商品（中文、拼音、首字母，可筛选）")
def search(
    session: SessionDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    category: str | None = None,
    village_id: int | None = None,
    cooperative_id: int | None = None,
    certification: str | None = None,
    storage_class: str | None = None,
    in_stock: bool | None = None,
    price_min_fen: Annotated[int | None, Query(ge=0)] = None,
    price_max_fen: Annotated[int | None, Query(ge=0)] = None,
    sort: SortOrder = "relevance",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> SearchOut:
    query = SearchQuery(
        q=q.strip(),
        filters=SearchFilters(
            category=category or None,
            village_id=village_id,
            cooperative_id=cooperative_id,
            certification=certification or None,
            storage_class=storage_class or None,
            in_stock=in_stock,
            price_min_fen=price_min_fen,
            price_max_fen=price_max_fen,
        ),
        sort=sort,
        page=page,
        page_size=page_size,
    )
    return search_out(session, service.search(session, query))


class SuggestOut(BaseModel):
    q: str
    suggestions: list[str]


@router.get("/search/suggest", response_model=SuggestOut, summary="搜索框联想")
def suggest(
    session: SessionDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> SuggestOut:
    prefix = q.strip()
    return SuggestOut(
        q=prefix, suggestions=service.suggest(session, prefix, limit) if prefix else []
    )
