"""The clinic map's tile source: none by default (the offline base, nothing fetched from elsewhere); a production
server names an https XYZ template, and the pages' CSP then admits that origin for images only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from emhana.app import create_app
from emhana.kernel.config import Settings
from emhana.web.security import CSP, page_csp


def test_no_tile_source_keeps_the_pages_csp_to_the_server_itself() -> None:
    settings = Settings(database_url="sqlite://")
    assert settings.map_tile_origin() == "" and page_csp(settings.map_tile_origin()) == CSP


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://tile.example.kz/{z}/{x}/{y}.png", "https://tile.example.kz"),
        ("https://{s}.tile.example.kz:8443/osm/{z}/{x}/{y}.png", "https://*.tile.example.kz:8443"),
    ],
)
def test_a_configured_tile_source_is_admitted_for_images_only(url: str, origin: str) -> None:
    settings = Settings(database_url="sqlite://", map_tile_url=url, map_tile_attribution="© OpenStreetMap")
    assert settings.map_tile_origin() == origin
    csp = page_csp(origin)
    assert f"img-src 'self' data: {origin};" in csp
    assert "connect-src 'self' wss://127.0.0.1:13579;" in csp and "script-src 'self';" in csp


@pytest.mark.parametrize(
    "url", ["http://tile.example.kz/{z}/{x}/{y}.png", "https://tile.example.kz/tiles.png", "tile/{z}/{x}/{y}"]
)
def test_a_tile_source_that_is_not_an_https_xyz_template_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(database_url="sqlite://", map_tile_url=url)


def test_the_answer_carries_the_tile_origin_when_configured() -> None:
    settings = Settings(database_url="sqlite://", map_tile_url="https://tile.example.kz/{z}/{x}/{y}.png")
    with TestClient(create_app(settings)) as client:
        csp = client.get("/login").headers["content-security-policy"]
    assert "img-src 'self' data: https://tile.example.kz;" in csp
