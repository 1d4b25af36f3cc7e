"""Every route declares the roles it admits, and every protected route refuses every other role."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.web.deps import declared_roles, iter_routes


def test_every_route_declares_its_roles(app: FastAPI) -> None:
    routes = list(iter_routes(app))
    assert len(routes) > 15
    undeclared = [path for path, _, dep in routes if declared_roles(dep.dependencies) is None]
    assert undeclared == []


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def code_of(body: Any) -> str:
    """The registry's stable code of an error: problem+json's ``code``, or an OperationOutcome's first issue's
    details coding (every error under /fhir is an OperationOutcome)."""
    if body.get("resourceType") == "OperationOutcome":
        return str(body["issue"][0]["details"]["coding"][0]["code"])
    return str(body["code"])


def test_protected_routes_refuse_roles_they_do_not_admit(
    app: FastAPI, client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    tokens = {role: auth(role) for role in Role}
    checked = 0
    for path, methods, dependant in iter_routes(app):
        roles = declared_roles(dependant.dependencies)
        if roles == "public":
            continue
        assert isinstance(roles, frozenset) and roles
        for method in methods:
            url = concrete(path)
            anonymous = client.request(method, url)
            assert anonymous.status_code == 401, (method, url)
            assert code_of(anonymous.json()) == "auth.not_authenticated"
            for role in Role:
                if role in roles:
                    continue
                resp = client.request(method, url, headers=tokens[role])
                assert resp.status_code == 403, (method, url, role)
                assert code_of(resp.json()) == "auth.forbidden"
                checked += 1
    assert checked > 20


def test_token_login_and_logout(client: TestClient, make_actor: Callable[..., tuple[Actor, str]]) -> None:
    make_actor(Role.REGISTRAR, password="right-pass")
    bad = client.post("/api/v1/auth/token", data={"username": "registrar-1", "password": "wrong"})
    assert bad.status_code == 401 and bad.json()["code"] == "auth.bad_credentials"
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong"})
    assert unknown.status_code == 401 and unknown.json()["code"] == "auth.bad_credentials"
    ok = client.post("/api/v1/auth/token", data={"username": "registrar-1", "password": "right-pass"})
    assert ok.status_code == 200 and ok.json()["role"] == "registrar"
    headers = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "registrar"
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_garbage_token_is_refused(client: TestClient) -> None:
    resp = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_log_in(client: TestClient, make_actor: Callable[..., tuple[Actor, str]], role: Role) -> None:
    actor, token = make_actor(role)
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == role.value and me["username"] == actor.username
