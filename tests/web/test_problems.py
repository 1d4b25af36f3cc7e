"""Every API error is problem+json with a stable code."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from emhana.accounts.roles import Role


def test_unknown_api_path(client: TestClient) -> None:
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.json()["code"] == "core.not_found"
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_wrong_method(client: TestClient) -> None:
    resp = client.delete("/api/v1/facilities/entities")
    assert resp.status_code == 405 and resp.json()["code"] == "core.method_not_allowed"


def test_malformed_json_body(client: TestClient, auth: Callable[..., dict[str, str]]) -> None:
    resp = client.post(
        "/api/v1/persons", content=b"{not json", headers={**auth(Role.REGISTRAR), "Content-Type": "application/json"}
    )
    assert resp.status_code == 422 and resp.json()["code"] == "core.invalid_json"


def test_problem_shape(client: TestClient) -> None:
    body = client.get("/api/v1/facilities/entities/424242", headers={"Accept-Language": "ru"}).json()
    assert {"type", "title", "status", "code", "detail", "messages", "instance"} <= set(body)
    assert body["type"] == "urn:emhana:problem:core.not_found" and body["status"] == 404
