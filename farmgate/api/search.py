"""Product search and the search box's completions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from farmgate.callbacks import API_PREFIX
from farmgate.search import service
from farmgate.search.backend import (
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    SearchFilters,
    SearchQuery,
    SortOrder,
)
from farmgate.search.presenters import SearchOut, search_out
from farmgate.web.session import SessionDep

router = APIRouter(prefix=API_PREFIX, tags=["搜索"])


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
