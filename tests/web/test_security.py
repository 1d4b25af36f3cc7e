"""The security headers reach every answer, the 500 of an unexpected error included, and answers that may carry
personal data tell browsers and proxies not to keep them."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from emhana.accounts.roles import Role
from emhana.web import security
from emhana.web.security import Proxies


def test_the_answer_to_an_unexpected_error_carries_the_security_headers(app: FastAPI) -> None:
    """Starlette's ServerErrorMiddleware answers a 500 outside every middleware the app adds: the headers
    used to be missing there."""

    @app.get("/api/v1/test-boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/api/v1/test-boom")
    assert resp.status_code == 500 and resp.json()["code"] == "core.internal"
    assert resp.headers["content-security-policy"] == security.CSP
    assert resp.headers["x-frame-options"] == "DENY" and resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store"


def test_answers_with_personal_data_are_not_stored(
    client: TestClient, auth: Callable[..., dict[str, str]], person: Callable[..., int]
) -> None:
    pid = person()
    headers = auth(Role.CITIZEN, person_id=pid)
    for path in ("/api/v1/me/person", "/api/v1/auth/me"):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 200, (path, resp.text[:200])
        assert resp.headers["cache-control"] == "no-store", path
    client.cookies.set("emhana_session", headers["Authorization"][7:])
    page = client.get("/medbook/my")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    client.cookies.clear()
    refused = client.get(f"/api/v1/persons/{pid}")  # errors too
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"


def test_static_files_and_public_lists_keep_their_own_caching(app: FastAPI) -> None:
    @app.get("/api/v1/test-public-list")
    def public_list() -> Response:  # as the signed trust lists do (emhana/api/seals.py)
        return Response(b"{}", media_type="application/json", headers={"Cache-Control": "public, max-age=300"})

    with TestClient(app) as c:
        assert "cache-control" not in c.get("/static/emhana.css").headers
        assert c.get("/api/v1/test-public-list").headers.get_list("cache-control") == ["public, max-age=300"]


def test_hsts_follows_a_trusted_proxys_https(database_url: str, person: Callable[..., int]) -> None:
    from emhana.app import create_app
    from emhana.kernel.config import Settings

    app = create_app(Settings(database_url=database_url, trusted_proxies="127.0.0.1"))
    try:
        with TestClient(app, client=("127.0.0.1", 40000)) as proxied:
            assert proxied.get("/", headers={"X-Forwarded-Proto": "https"}).headers["strict-transport-security"]
        with TestClient(app, client=("192.0.2.1", 40000)) as direct:
            assert "strict-transport-security" not in direct.get("/", headers={"X-Forwarded-Proto": "https"}).headers
    finally:
        app.state.engine.dispose()


def test_proxies_parse_addresses_and_networks() -> None:
    proxies = Proxies(" 127.0.0.1 ,10.0.0.0/8,::1")
    assert proxies.trusts("10.200.0.1") and proxies.trusts("::1") and not proxies.trusts("11.0.0.1")
    assert not proxies.trusts("testclient") and not Proxies("").networks
    assert proxies.client("10.0.0.1", ["9.9.9.9, 10.0.0.2"]) == "9.9.9.9"
    assert proxies.client("10.0.0.1", ["10.0.0.3", "10.0.0.2"]) == "10.0.0.3"  # all proxies: the first
