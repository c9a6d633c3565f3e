"""The hot public pages' routers come first (farmgate/app.py): FastAPI tries routes in order, and
the product page used to be the 250th. That is only safe while no other route would answer
their paths: moving them ahead must not take a request from the route that used to get it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from farmgate.api.router import catalogue_api_router
from farmgate.app import _include_flat, create_app
from farmgate.storefront.pages import catalogue_router
from farmgate.storefront.trace_pages import router as trace_router

HOT_PATHS = [
    "/",
    "/products/12",
    "/products/abc",
    "/cooperatives/3",
    "/01/06970000000019/10/LOT-1",
    "/01/06970000000019/10/LOT-1/21/AbC123",
    "/01/06970000000019",
    "/.well-known/gs1resolver",
    "/api/v1/products",
    "/api/v1/products/12",
    "/api/v1/cooperatives/3",
    "/api/v1/villages",
]
HOT_ROUTERS = [catalogue_router, trace_router, catalogue_api_router]


def _leaf_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str], Any]]:
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            out += _leaf_routes(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "path"):
            out.append((prefix + route.path, set(getattr(route, "methods", None) or ()), route))
    return out


@pytest.fixture(scope="module")
def routes() -> list[tuple[str, set[str], Any]]:
    return _leaf_routes(create_app(check_schema=False, run_jobs=False).router.routes)


def test_the_hot_pages_are_matched_first(routes) -> None:  # type: ignore[no-untyped-def]
    hot = {id(r) for router in HOT_ROUTERS for _, _, r in _leaf_routes(router.routes)}
    first = [r for _, _, r in routes[: len(hot) + 10]]
    assert hot <= {id(r) for r in first}


@pytest.mark.parametrize("path", HOT_PATHS)
def test_no_other_route_answers_a_hot_path(routes, path: str) -> None:  # type: ignore[no-untyped-def]
    hot = {id(r) for router in HOT_ROUTERS for _, _, r in _leaf_routes(router.routes)}
    matching = []
    for full_path, methods, route in routes:
        regex, _, _ = compile_path(full_path)
        if regex.match(path) and (not methods or methods & {"GET", "HEAD"}):
            matching.append((full_path, id(route) in hot))
    assert matching, f"no route answers {path}"
    assert all(is_hot for _, is_hot in matching), matching
    assert len(matching) == 1, matching


def test_every_route_sits_on_the_apps_own_router() -> None:
    """FastAPI matches an included router's routes again at each level of nesting: every
    route is put on the app's own router (farmgate/app.py, _include_flat), mounts aside."""
    app = create_app(check_schema=False, run_jobs=False)
    nested = [r for r in app.router.routes if getattr(r, "original_router", None) is not None]
    assert nested == []
    assert sum(isinstance(r, APIRoute) for r in app.router.routes) > 300


def test_a_router_that_adds_something_at_inclusion_is_not_flattened() -> None:
    inner = APIRouter()
    inner.get("/x")(lambda: 1)
    outer = APIRouter()
    outer.include_router(inner, prefix="/api")  # the prefix would be lost: refused
    with pytest.raises(ValueError, match="cannot flatten"):
        _include_flat(FastAPI(), outer)
