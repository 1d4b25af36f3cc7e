"""The route lookup that skips routers a path cannot reach (emhana/web/routing.py) chooses exactly the route
FastAPI's full walk chooses, for every route of the app, with the right and a wrong method, with and without a
trailing slash, and for paths no route has; and it is what the app runs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from emhana.app import create_app
from emhana.kernel.config import Settings
from emhana.web import routing
from emhana.web.deps import iter_routes, public

_PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")


def _sample(path: str) -> str:
    """A concrete path a route's template matches ({id} -> 7, {path:path} -> a/b)."""
    return _PARAM.sub(lambda m: "a/b" if m.group(2) == "path" else "7", path)


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "state": {},
    }


def _chosen(app: FastAPI, method: str, path: str) -> tuple[Any, ...]:
    """What the app's top-level walk picks (as FastAPI's APIRouter.app does): the first full match, else the first
    partial one; the route's position, the match and the endpoint it names."""
    partial: tuple[Any, ...] | None = None
    for index, route in enumerate(app.router.routes):
        match, child = route.matches(_scope(method, path))
        found = (index, match, getattr(child.get("endpoint"), "__qualname__", None), child.get("path_params"))
        if match == Match.FULL:
            return found
        if match == Match.PARTIAL and partial is None:
            partial = found
    return partial or (None, Match.NONE, None, None)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> tuple[FastAPI, FastAPI]:
    url = f"sqlite:///{tmp_path_factory.mktemp('routing') / 'r.db'}"  # never connected to: routes only
    plain, filtered = create_app(Settings(database_url=url)), create_app(Settings(database_url=url))
    assert routing.filter_routers(filtered.router.routes) > 30
    assert routing.filter_routers(filtered.router.routes) == 0  # once
    return plain, filtered


def test_every_route_is_found_as_before(apps: tuple[FastAPI, FastAPI]) -> None:
    plain, filtered = apps
    paths = sorted({_sample(path) for path, _methods, _dep in iter_routes(plain)})
    paths += ["/static/app.css", "/static", "/nowhere", "/api/v1/nowhere/7", "/fhir/R4/Nothing/7", "/", ""]
    assert len(paths) > 200
    checked = 0
    for path in paths:
        for variant in {path, path.rstrip("/") or "/", path + "/"}:
            for method in ("GET", "POST", "DELETE"):
                assert _chosen(filtered, method, variant) == _chosen(plain, method, variant), (method, variant)
                checked += 1
    assert checked > 1000


def test_a_router_skipped_only_when_no_route_can_match(apps: tuple[FastAPI, FastAPI]) -> None:
    _plain, filtered = apps
    skipped = asked = 0
    for route in filtered.router.routes:
        matches = route.__dict__.get("matches")
        if isinstance(matches, routing.PrefixFilter):
            prefixes = matches._prefixes()
            assert prefixes, route
            if "/api/v1/ping".startswith(prefixes):
                asked += 1
            else:
                skipped += 1
    assert asked >= 1 and skipped > 30


def test_literal_prefixes() -> None:
    class R:
        def __init__(self, pattern: str) -> None:
            self.path_regex = re.compile(pattern)

    assert routing.literal_prefix(R(r"^/api/v1/attachment/persons/(?P<person_id>[^/]+)$")) == (
        "/api/v1/attachment/persons/"
    )
    assert routing.literal_prefix(R(r"^/fhir/R4/\$export$")) == "/fhir/R4/$export"
    assert routing.literal_prefix(R(r"^/a\-b/(?P<x>[0-9]+)/c$")) == "/a-b/"
    assert routing.literal_prefix(R(r"^/static/(?P<path>.*)$")) == "/static/"
    assert routing.literal_prefix(R(r"^/x(y|z)$")) is None  # not made by compile_path: always asked
    assert routing.literal_prefix(object()) is None


def test_a_route_added_later_to_an_included_router_is_found() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/first", dependencies=[public()])
    def first() -> dict[str, bool]:
        return {"first": True}

    app.include_router(router, prefix="/r")
    routing.install(app)
    with TestClient(app) as client:
        assert client.get("/r/first").json() == {"first": True}
        assert client.get("/r/later").status_code == 404
        assert any(isinstance(r.__dict__.get("matches"), routing.PrefixFilter) for r in app.router.routes)

        @router.get("/later/{x}", dependencies=[public()])
        def later(x: int) -> dict[str, int]:
            return {"later": x}

        assert client.get("/r/later/3").json() == {"later": 3}


def test_a_route_added_later_to_a_router_included_in_an_included_router_is_found() -> None:
    app = FastAPI()
    outer, inner = APIRouter(), APIRouter()

    @inner.get("/first", dependencies=[public()])
    def first() -> dict[str, bool]:
        return {"first": True}

    outer.include_router(inner, prefix="/in")
    app.include_router(outer, prefix="/out")
    routing.install(app)
    with TestClient(app) as client:
        assert client.get("/out/in/first").json() == {"first": True}
        assert client.get("/elsewhere/x").status_code == 404

        @inner.get("/x", dependencies=[public()])
        def x() -> dict[str, bool]:
            return {"x": True}

        outer.include_router(inner, prefix="/elsewhere")  # a new literal beginning for the same outer router
        assert client.get("/out/in/x").json() == {"x": True}
        assert client.get("/out/elsewhere/x").json() == {"x": True}


def test_the_app_filters_its_routers(client: TestClient, app: FastAPI) -> None:
    assert client.get("/api/v1/ping").json() == {"ok": True}
    assert client.get("/api/v1/nowhere").status_code == 404
    filtered = [r for r in app.router.routes if isinstance(r.__dict__.get("matches"), routing.PrefixFilter)]
    assert len(filtered) > 30
