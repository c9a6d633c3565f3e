"""The route index (farmgate/web/routeindex.py) must answer every path as the whole router
would: the same route, the same 405, the same slash redirect, the same 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Match

from farmgate.app import create_app
from farmgate.web.routeindex import RouteIndex, literal_segments


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(check_schema=False, run_jobs=False)


def _concrete(path: str) -> str:
    """A path the route's pattern matches: a {x:path} parameter spans two segments."""
    return re.sub(r"\{[^}:]+(:path)?[^}]*\}", lambda m: "a/b" if m.group(1) else "7", path)


def _paths(app: FastAPI) -> list[str]:
    paths = {"/", "//", "/nope", "/api", "/api/", "/api/v1", "/api/v1/nope", "/api/v1/orders"}
    for route in app.router.routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        concrete = _concrete(path) or "/"
        base = concrete.rstrip("/") or "/"
        paths.update({concrete, base, base + "/", base + "/extra", base + "x", base + "/7/a"})
    return sorted(paths)


def _answer(routes: list[Any], scope: dict[str, Any]) -> tuple[str, Any]:
    """What a router holding ``routes`` does with the request (starlette/fastapi routing)."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return "full", route
        if match == Match.PARTIAL and partial is None:
            partial = route
    if partial is not None:
        return "partial", partial
    path = scope["path"]
    if path != "/":
        other = {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
        for route in routes:
            if route.matches(other)[0] != Match.NONE:
                return "redirect", route
    return "none", None


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "HEAD"])
def test_every_path_gets_the_answer_of_the_whole_router(app: FastAPI, method: str) -> None:
    index = RouteIndex(app.router)
    paths = _paths(app)
    assert len(paths) > 1000
    for path in paths:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        view = index.view_for(path)
        assert _answer(view.routes, scope) == _answer(app.router.routes, scope), path
    # And it does narrow the search: an order's poll is matched among a few routes.
    assert len(index.view_for("/api/v1/orders/7").routes) < len(app.router.routes) / 5


def test_literal_segments_stop_at_the_first_parameter() -> None:
    class Fake:
        def __init__(self, path: str) -> None:
            self.path = path

    from starlette.routing import Mount, Route

    def endpoint() -> None: ...

    assert literal_segments(Route("/api/v1/orders/{order_id}/pay", endpoint)) == [
        "api",
        "v1",
        "orders",
    ]
    assert literal_segments(Route("/cart/", endpoint)) == ["cart"]
    assert literal_segments(Route("/{compressed}", endpoint)) == []
    assert literal_segments(Mount("/static", routes=[])) == ["static"]
    assert literal_segments(Fake("/api/v1")) == []  # type: ignore[arg-type]  # unknown: tried always


def test_the_app_answers_through_the_index(client, session) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(client.app.router.middleware_stack, RouteIndex)
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/checkout").status_code == 405  # only POST: a partial match
    assert client.get("/api/v1/nope").status_code == 404
    page = client.get("/")  # url_for on the whole router, whatever the copy holds
    assert page.status_code == 200 and "/static/" in page.text


def test_a_route_added_later_is_found() -> None:
    app = create_app(check_schema=False, run_jobs=False)
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)

    @app.get("/late/{thing}")
    def late(thing: str) -> dict[str, str]:
        return {"thing": thing}

    assert any(
        getattr(r, "path", None) == "/late/{thing}" for r in index.view_for("/late/x").routes
    )


def test_trailing_slashes_parameters_first_and_mounts_on_a_small_router() -> None:
    """Shapes the app may not have today: the answers stay those of the whole router."""
    from starlette.routing import Mount

    small = FastAPI()

    def endpoint() -> None: ...

    for path, methods in [
        ("/cart/", ["GET"]),
        ("/cart/items", ["POST"]),
        ("/{slug}", ["GET"]),
        ("/a/b/c/d/e/f", ["GET"]),
        ("/a/b/c/d/e/{g}", ["PUT"]),
        ("/files/{rest:path}", ["GET"]),
        ("/", ["GET"]),
    ]:
        small.add_api_route(path, endpoint, methods=methods)
    small.router.routes.append(Mount("/static", routes=[]))
    index = RouteIndex(small.router)
    paths = [
        *("/", "/cart", "/cart/", "/cart/items", "/cart/items/", "/x", "/x/", "/static"),
        *("/static/a.css", "/a/b/c/d/e/f", "/a/b/c/d/e/f/", "/a/b/c/d/e/7", "/a/b/c/d/e"),
        *("/files/a/b", "/files", "/files/"),
    ]
    for method in ("GET", "PUT", "POST"):
        for path in paths:
            scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
            got = _answer(index.view_for(path).routes, scope)
            assert got == _answer(small.router.routes, scope), (method, path)
