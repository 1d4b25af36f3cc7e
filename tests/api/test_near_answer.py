"""The lean answer of the public near search (api/attachment/places.near_answer): byte for byte the JSON the
route's response model gives, from its own threads and a session that only reads."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from emhana.api.attachment import places
from emhana.facilities.rules import Profile
from tests.builders.attachment import Country


def test_the_lean_answer_is_the_response_models_json_byte_for_byte(app: FastAPI, country: Country) -> None:
    async def lean(
        request: Request, lat: float, lon: float, limit: int = 10, profile: Profile | None = None
    ) -> Response:
        return await places.near_answer(request, lat, lon, limit, profile)

    app.add_api_route("/lean-near", lean, methods=["GET"])
    with TestClient(app) as client:
        queries: list[dict[str, str | float]] = [
            {"lat": 51.13, "lon": 71.43},
            {"lat": 51.16, "lon": 71.47, "limit": 2},
            {"lat": 43.25, "lon": 76.91, "limit": 50},
            {"lat": 51.13, "lon": 71.43, "profile": "pediatric"},
        ]
        for query in queries:
            model = client.get("/api/v1/attachment/near", params=query)
            lean_answer = client.get("/lean-near", params=query)
            assert model.status_code == lean_answer.status_code == 200
            assert lean_answer.headers["content-type"] == model.headers["content-type"]
            assert lean_answer.content == model.content
            assert model.json()  # not an empty list: the answers compared have sites with districts
