"""/docs and /redoc load Swagger UI and ReDoc from the app itself (the installed package), never from a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_docs_pages_use_only_files_the_app_serves(client: TestClient) -> None:
    for path, assets in (
        ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
        ("/redoc", ("redoc.standalone.js",)),
    ):
        page = client.get(path)
        assert page.status_code == 200
        urls = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', page.text) + re.findall(r"url: '([^']+)'", page.text)
        assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
        for name in assets:
            assert f"/static/apidocs/{name}" in page.text
            served = client.get(f"/static/apidocs/{name}")
            assert served.status_code == 200 and len(served.content) > 100_000
        csp = page.headers["content-security-policy"]
        assert "http" not in csp and "fonts.googleapis" not in page.text
    assert client.get("/openapi.json").json()["paths"]
