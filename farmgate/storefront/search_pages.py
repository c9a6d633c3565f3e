"""The search page: a query, facets to narrow it, sorting and pages; no JavaScript needed (the
search box's completions are a small script on top)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from farmgate.search import service
from farmgate.search.backend import FACETS, SORT_ORDERS, SearchFilters, SearchQuery
from farmgate.search.presenters import search_out
from farmgate.storefront.common import PageAccount, render
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 24
SORT_LABELS = {
    "relevance": "综合",
    "sales": "销量",
    "newest": "新品",
    "price_asc": "价格从低到高",
    "price_desc": "价格从高到低",
}
FACET_TITLES = {
    "category": "类目",
    "village_id": "产地村",
    "cooperative_id": "合作社",
    "certification": "认证",
    "storage_class": "储运",
    "in_stock": "库存",
}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _fen(yuan: str | None) -> int | None:
    """A price typed in yuan ("12.5") as fen; anything unreadable is ignored, not an error."""
    try:
        amount = Decimal((yuan or "").strip())
    except InvalidOperation:
        return None
    return int(amount * 100) if amount.is_finite() and amount >= 0 else None


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, session: SessionDep, account: PageAccount) -> Response:
    # Read leniently: the form sends "" for "any", and a hand-edited URL never gets a 422 page.
    params = request.query_params
    stock = params.get("in_stock", "")
    sort = params.get("sort", "relevance")
    query = SearchQuery(
        q=params.get("q", "").strip()[:100],
        filters=SearchFilters(
            category=params.get("category") or None,
            village_id=_int(params.get("village_id")),
            cooperative_id=_int(params.get("cooperative_id")),
            certification=params.get("certification") or None,
            storage_class=params.get("storage_class") or None,
            in_stock={"1": True, "0": False}.get(stock),
            price_min_fen=_fen(params.get("price_min")),
            price_max_fen=_fen(params.get("price_max")),
        ),
        sort=sort if sort in SORT_ORDERS else "relevance",  # type: ignore[arg-type]
        page=min(_int(params.get("page")) or 1, 1000),
        page_size=PAGE_SIZE,
    )
    result = search_out(session, service.search(session, query))
    kept = {k: v for k, v in params.items() if v and k != "page"}

    def link(**changes: object) -> str:
        merged = {**kept, **{k: str(v) for k, v in changes.items() if v is not None}}
        for k, v in changes.items():
            if v is None:
                merged.pop(k, None)
        return "/search?" + urlencode(merged)

    def param(value: object) -> str:
        return (
            {True: "1", False: "0"}.get(value, str(value))
            if isinstance(value, bool)
            else str(value)
        )

    labels = {
        facet: {param(f.value): f.label for f in values} for facet, values in result.facets.items()
    }
    # Chosen facet values (removable chips), and links that add one more.
    active = {
        facet: (FACET_TITLES[facet], labels.get(facet, {}).get(kept[facet], kept[facet]))
        for facet in FACETS
        if facet in kept
    }
    choices = {
        facet: [(f.label, f.count, link(**{facet: param(f.value)})) for f in values[:12]]
        for facet, values in result.facets.items()
        if values and facet not in active
    }
    return render(
        request,
        "search.html",
        account,
        result=result,
        params=kept,
        link=link,
        active=active,
        choices=choices,
        facet_titles=FACET_TITLES,
        sort_labels=SORT_LABELS,
        sort=query.sort,
    )
