"""Route lookup that skips the routers a path cannot reach: the same route chosen, without walking all of them.

FastAPI finds a request's route by asking every included router in turn, and each router asks each of its routes
(a regular expression and some bookkeeping per route, twice for the router that matches): with some 270 routes in
about 40 routers, a read under /fhir walked some 200 routes before its own. Here each router included in the app
is asked only when the request's path starts with one of the literal beginnings of its routes' paths (the text
before the first ``{``: ``/api/v1/attachment/persons/`` for ``/api/v1/attachment/persons/{person_id}``). A router
none of whose routes can match the path would have answered "no match" anyway, so the route chosen, the 405 for a
known path with another method, the redirect of a trailing slash and the 404 are exactly as before
(tests/web/test_routing.py checks every route of the app against the unfiltered lookup).

A router whose routes include one without a literal beginning (a ``Host`` route) is always asked; routes added to
an included router later, or to a router included in it, are seen (its prefixes are rebuilt when FastAPI's count
of route changes of one of those routers moves).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute, compile_path

Scope = dict[str, Any]
_PARAMETER = "(?P<"
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def literal_prefix(route: Any) -> str | None:
    """Return the text every path a route matches starts with (from its compiled path), or None when unknown."""
    regex = getattr(route, "path_regex", None)
    pattern = getattr(regex, "pattern", None)
    if not isinstance(pattern, str) or not pattern.startswith("^"):
        return None
    body = pattern[1:]
    cut = body.find(_PARAMETER)
    literal = body[:cut] if cut >= 0 else body.removesuffix("$")
    if re.search(r"(?<!\\)[][().*+?|{}^$]", literal):  # a pattern not made by starlette's compile_path
        return None
    return _ESCAPED.sub(r"\1", literal)


_PATHED = (fastapi_routing.APIRoute, fastapi_routing.APIWebSocketRoute, Route, WebSocketRoute)


def _route_prefixes(router: Any, prefix: str, found: set[str]) -> bool:
    """Add the literal beginnings of the paths of a router's routes (and of routers included in it), each under
    the prefixes it is included with, to `found`; False when one of them cannot be told (a ``Host`` route, or a
    kind of route not known here). Read from the routes' paths as declared: FastAPI's effective routes (the
    dependencies and models of each, built at its first request) are not needed to know where a path leads."""
    included_type = getattr(fastapi_routing, "_IncludedRouter", None)
    for route in [*router.routes, *getattr(router, "_low_priority_routes", [])]:
        if included_type is not None and isinstance(route, included_type):
            if not _route_prefixes(route.original_router, prefix + route.include_context.prefix, found):
                return False
        elif isinstance(route, _PATHED):
            literal = literal_prefix(SimpleNamespace(path_regex=compile_path(prefix + route.path)[0]))
            if literal is None:
                return False
            found.add(literal)
        elif isinstance(route, Mount):
            literal = literal_prefix(SimpleNamespace(path_regex=compile_path((prefix + route.path).rstrip("/"))[0]))
            if literal is None:
                return False
            found.add(literal)
        else:
            return False
    return True


def _routers(router: Any) -> list[Any]:
    """The router and every router included in it, at any depth (each once)."""
    found: list[Any] = []
    seen: set[int] = set()
    stack = [router]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        stack.extend(r.original_router for r in current.routes if isinstance(r, fastapi_routing._IncludedRouter))
    return found


class PrefixFilter:
    """Stand-in for an included router's ``matches``: "no match" at once for a path outside its routes' literal
    beginnings, else the router's own answer.

    Whether its routes changed is read from each router it reaches (its own and those included in it) and that
    router's own count of changes, compared one by one: FastAPI's recursive ``_get_routes_version`` walks every
    route of every router, which for some 40 routers asked on each request cost more than the match itself."""

    def __init__(self, included: Any, matches: Callable[[Scope], tuple[Match, Scope]]) -> None:
        self.included = included
        self.matches = matches
        self.watched: tuple[tuple[Any, int], ...] = ()
        self.prefixes: tuple[str, ...] | None = None

    def _changed(self) -> bool:
        if not self.watched:
            return True
        for router, version in self.watched:
            if router._routes_version != version:
                return True
        return False

    def _prefixes(self) -> tuple[str, ...] | None:
        if self._changed():
            watched = tuple((r, r._routes_version) for r in _routers(self.included.original_router))
            found: set[str] = set()
            known = _route_prefixes(self.included.original_router, self.included.include_context.prefix, found)
            self.prefixes = tuple(sorted(found)) if known else None  # None: cannot tell, always ask this router
            self.watched = watched
        return self.prefixes

    def __call__(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("type") in ("http", "websocket"):
            prefixes = self._prefixes()
            if prefixes is not None and not get_route_path(scope).startswith(prefixes):
                return Match.NONE, {}
        return self.matches(scope)


def filter_routers(routes: list[BaseRoute]) -> int:
    """Put a ``PrefixFilter`` before the ``matches`` of each included router of a route list (once); return how
    many were filtered. Without FastAPI's included routers (another version) nothing changes."""
    included_type = getattr(fastapi_routing, "_IncludedRouter", None)
    if included_type is None:
        return 0
    count = 0
    for route in routes:
        if isinstance(route, included_type) and not isinstance(route.__dict__.get("matches"), PrefixFilter):
            route.matches = PrefixFilter(route, route.matches)
            count += 1
    return count


def install(app: FastAPI) -> None:
    """Filter the app's included routers when its middleware stack is built (at its first request, once every
    router is included); a router included afterwards is walked as FastAPI walks it."""
    build = app.build_middleware_stack

    def build_filtered() -> Any:
        filter_routers(app.router.routes)
        return build()

    app.build_middleware_stack = build_filtered  # type: ignore[method-assign]
