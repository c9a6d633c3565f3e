"""Matching a request against the routes its path can reach, not against all of them.

FastAPI tries the app's routes in turn: about 330 here, a regular expression and two calls
each, so a request to the API matched 50-60 routes before its own (100-200 us on this
machine's CPU, once per request). ``RouteIndex`` files each route under the literal segments
its path begins with (``/api/v1/orders/{order_id}`` under api, v1, orders) and hands a request
to a copy of the router that holds only the routes filed along its path: those whose literal
beginning the path shares, in their original order. A route left out could not have matched
(its literal segments differ from the path's), so the router's answer is the one it gives
with every route: the first full match, else the first partial one (a 405), else a slash
redirect, else 404. ``tests/test_route_index.py`` compares both for every route.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

DEPTH = 4  # literal segments filed; deeper ones are left to each route's own match


@dataclass
class _Node:
    own: list[int] = field(default_factory=list)  # routes filed here, by position
    children: dict[str, _Node] = field(default_factory=dict)
    view: Router | None = None


def literal_segments(route: BaseRoute) -> list[str]:
    """The segments a route's path begins with before its first parameter (at most
    ``DEPTH``); none for a route this cannot read (it is then tried for every path). A
    trailing slash is dropped, so /cart/ and /cart sit together (the slash redirect looks for
    the one from the other)."""
    path = getattr(route, "path", None)
    if not isinstance(route, Route | Mount) or not isinstance(path, str):
        return []
    literal: list[str] = []
    for segment in path.split("/")[1:]:
        if "{" in segment or len(literal) == DEPTH:
            break
        literal.append(segment)
    while literal and not literal[-1]:
        literal.pop()
    return literal


class RouteIndex:
    """The router's matching, by path prefix. Install as the router's ``middleware_stack``
    once its routes are added; a change to the route list later rebuilds the index."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._build()

    def _build(self) -> None:
        routes = self.router.routes
        self._routes, self._count = routes, len(routes)
        root = _Node()
        for position, route in enumerate(routes):
            node = root
            for segment in literal_segments(route):
                node = node.children.setdefault(segment, _Node())
            node.own.append(position)
        self._views(root, [])
        self.root = root

    def _views(self, node: _Node, above: list[int]) -> None:
        reach = sorted(above + node.own)  # the router's own order
        view = copy.copy(self.router)
        view.routes = [self.router.routes[i] for i in reach]
        node.view = view
        for child in node.children.values():
            self._views(child, reach)

    def view_for(self, path: str) -> Router:
        """The router copy with the routes ``path`` can reach."""
        if self.router.routes is not self._routes or len(self.router.routes) != self._count:
            self._build()
        node = self.root
        for segment in path.split("/")[1 : DEPTH + 1]:
            child = node.children.get(segment)
            if child is None:
                break
            node = child
        assert node.view is not None
        return node.view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the lifespan, websockets: as the router would
            await self.router.app(scope, receive, send)
            return
        # url_for and the like look names up on the whole router, not on the copy.
        scope.setdefault("router", self.router)
        await self.view_for(get_route_path(scope)).app(scope, receive, send)
