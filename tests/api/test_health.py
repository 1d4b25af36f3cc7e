"""The liveness probe that `emhana bench` uses as its minimal endpoint (emhana/api/health.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_ping_answers_anonymously_without_the_database(client: TestClient) -> None:
    response = client.get("/api/v1/ping")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
