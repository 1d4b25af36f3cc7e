"""Hardening of the web door: security headers, rate limits (login, verifier), CSRF on every form POST,
and the secret key that must come from the environment outside demo mode."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, params
from fastapi.testclient import TestClient

from emhana.accounts.policy import ORGANIZATION_ROLES
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.app import create_app
from emhana.kernel.config import Settings, get_settings
from emhana.kernel.i18n import translate
from emhana.web import ratelimit, security
from emhana.web.deps import declared_roles, iter_routes
from emhana.web.ratelimit import RateLimiter, RateRule
from emhana.web.render import CSRF_COOKIE, MSG_CSRF, TEMPLATES

PROBLEM = "application/problem+json"


# --- security headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/facilities",
        "/login",
        "/api/v1/reference/regions",
        "/no-such-page",
        "/api/v1/no-such-thing",
        "/static/emhana.css",
        "/openapi.json",
    ],
)
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    resp = client.get(path, headers={"accept": "text/html"})
    assert resp.headers["content-security-policy"] == security.CSP
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["permissions-policy"].startswith("geolocation=(self)")
    assert resp.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in resp.headers  # plain http: HSTS would be ignored anyway
    assert len(resp.headers.get_list("x-content-type-options")) == 1


def test_hsts_only_behind_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://emhana.example") as c:
        resp = c.get("/")
    assert resp.headers["strict-transport-security"] == security.HSTS


def test_docs_page_gets_a_policy_that_lets_swagger_load(client: TestClient) -> None:
    resp = client.get("/docs")
    assert resp.status_code == 200
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline';" in csp and "https:" not in csp  # no CDN: the app serves Swagger UI
    assert "/static/apidocs/swagger-ui-bundle.js" in resp.text and "cdn.jsdelivr.net" not in resp.text
    assert client.get("/static/apidocs/swagger-ui-bundle.js").status_code == 200
    assert resp.headers["x-frame-options"] == "DENY"


def test_templates_need_nothing_the_policy_forbids() -> None:
    """script-src/style-src 'self': no inline script, no style attribute or element, no on* handler, and
    no resource from another origin."""
    offending = []
    for template in sorted(Path(TEMPLATES).rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\sstyle=",
            r"\son[a-z]+\s*=",
            r"javascript:",
            r"<(?:script|link|img|iframe)[^>]+(?:src|href)=\"(?:https?:)?//",
        ):
            offending += [f"{template.name}: {m.group(0)}" for m in re.finditer(pattern, text, re.I)]
    assert offending == []


# --- rate limits ----------------------------------------------------------------------------------------


def test_failed_logins_are_limited_per_username_from_one_address(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    make_actor(Role.REGISTRAR, password="right-pass")
    rule = next(r for r in ratelimit.DEFAULT_RULES if r.name == "login-pair")
    for _ in range(rule.limit):
        bad = client.post("/api/v1/auth/token", data={"username": "registrar-1", "password": "wrong"})
        assert bad.status_code == 401
    refused = client.post("/api/v1/auth/token", data={"username": "registrar-1", "password": "right-pass"})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "core.rate_limited"
    assert 0 < int(refused.headers["retry-after"]) <= rule.window
    assert set(refused.json()["messages"]) == {"kk", "ru", "en"}
    # The same username through the login page is refused too (one budget for both doors).
    page = client.post("/login", data={"username": "Registrar-1", "password": "x", "csrf": "x"})
    assert page.status_code == 429
    # Another username is not affected.
    other = client.post("/api/v1/auth/token", data={"username": "someone-else", "password": "wrong"})
    assert other.status_code == 401


def test_successful_logins_do_not_count_against_the_username(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    make_actor(Role.REGISTRAR, password="right-pass")
    rule = next(r for r in ratelimit.DEFAULT_RULES if r.name == "login-username")
    for _ in range(rule.limit + 2):
        ok = client.post("/api/v1/auth/token", data={"username": "registrar-1", "password": "right-pass"})
        assert ok.status_code == 200


def test_logins_are_limited_per_client_address(app: FastAPI, client: TestClient) -> None:
    # The default rule with a lower limit (each refused login costs an argon2 verification).
    rule = dataclasses.replace(next(r for r in ratelimit.DEFAULT_RULES if r.name == "login-ip"), limit=4)
    app.state.rate_rules = [rule]
    answers = [
        client.post("/api/v1/auth/token", data={"username": f"user-{i}", "password": "x"}).status_code
        for i in range(rule.limit + 1)
    ]
    assert answers[: rule.limit] == [401] * rule.limit
    assert answers[-1] == 429


def test_the_window_slides(app: FastAPI) -> None:
    clock = [1000.0]
    app.state.rate_limiter = RateLimiter(clock=lambda: clock[0])
    app.state.rate_rules = [RateRule("verify-ip", ("/verify", "/api/v1/verify"), limit=2, window=60)]
    with TestClient(app) as c:
        assert [c.get("/api/v1/verify/x").status_code for _ in range(2)] == [404, 404]
        refused = c.get("/verify")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
        clock[0] += 30
        assert c.get("/api/v1/verify").headers["retry-after"] == "30"
        clock[0] += 31
        assert c.get("/api/v1/verify/x").status_code == 404


def test_verifier_routes_are_limited_per_client_address(client: TestClient) -> None:
    """The rule is keyed by prefix: it holds for /verify and /api/v1/verify… whether or not they exist yet."""
    rule = next(r for r in ratelimit.DEFAULT_RULES if r.name == "verify-ip")
    answers = [client.get("/api/v1/verify/status").status_code for _ in range(rule.limit + 1)]
    assert 429 not in answers[: rule.limit] and answers[-1] == 429
    assert client.get("/api/v1/reference/regions").status_code == 200  # other routes are not limited


def test_prefix_matching() -> None:
    rule = RateRule("r", ("/verify", "/api/v1/verify"), limit=1, window=1)
    assert rule.matches("GET", "/verify") and rule.matches("POST", "/api/v1/verify/seal")
    assert not rule.matches("GET", "/verifyx") and not rule.matches("GET", "/api/v1/verifiers")


# --- CSRF -----------------------------------------------------------------------------------------------


def form_post_routes(app: FastAPI) -> list[tuple[str, object]]:
    """Every POST route of the HTML door (not the JSON APIs under /api/ and /fhir/), with what it declares."""
    return sorted(
        (path, declared_roles(dep.dependencies))
        for path, methods, dep in iter_routes(app)
        if "POST" in methods and not path.startswith(("/api/", "/fhir/"))
    )


def form_fields(app: FastAPI, path: str) -> dict[str, str]:
    """Plausible values for the form fields a route declares (so that only the token is wrong)."""
    for route_path, methods, dep in iter_routes(app):
        if route_path == path and "POST" in methods:
            return {
                (p.alias or p.name): "1"
                for p in dep.body_params
                if p.name != "csrf" and not isinstance(p.field_info, params.File)
            }
    return {}


def test_every_form_post_rejects_a_missing_or_wrong_csrf_token(
    app: FastAPI, client: TestClient, auth: Callable[..., dict[str, str]], seeded_entity: int
) -> None:
    refusal = translate("en", MSG_CSRF)
    routes = form_post_routes(app)
    assert {"/login", "/logout", "/attachment/apply"} <= {p for p, _ in routes}
    other_token = "bm9uY2U.0123456789abcdef0123456789abcdef"
    for path, roles in routes:
        role = next(iter(sorted(roles))) if isinstance(roles, frozenset) else None
        cookies = {}
        if role is not None:
            entity = seeded_entity if role in ORGANIZATION_ROLES else None  # staff act for an organization
            cookies["emhana_session"] = auth(role, entity_id=entity)["Authorization"][7:]
        url = re.sub(r"\{[^}]+\}", "1", path) + "?lang=en"
        fields = form_fields(app, path)
        client.cookies.clear()
        client.cookies.update(cookies)
        form = client.get("/login?lang=en")  # a page sets a genuine CSRF cookie, bound to the session
        genuine = form.cookies[CSRF_COOKIE]
        attempts = {
            "missing": ({**cookies, CSRF_COOKIE: genuine}, fields),
            "wrong": ({**cookies, CSRF_COOKIE: genuine}, {**fields, "csrf": other_token}),
            "no cookie": (cookies, {**fields, "csrf": genuine}),
            "forged pair": ({**cookies, CSRF_COOKIE: other_token}, {**fields, "csrf": other_token}),
        }
        for what, (jar, data) in attempts.items():
            client.cookies.clear()
            client.cookies.update(jar)
            resp = client.post(url, data=data, follow_redirects=False)
            assert resp.status_code == 403, (path, what, resp.status_code, resp.text[:300])
            assert refusal in resp.text, (path, what)
        client.cookies.clear()
        client.cookies.update({**cookies, CSRF_COOKIE: genuine})
        accepted = client.post(url, data={**fields, "csrf": genuine}, follow_redirects=False)
        assert refusal not in accepted.text, path  # the genuine token passes (the check can tell them apart)


# --- secrets from the environment -----------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[pytest.MonkeyPatch]:
    for name in ("EMHANA_SECRET_KEY", "EMHANA_DEMO_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EMHANA_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_server_refuses_to_start_without_a_secret_key_outside_demo_mode(environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(security.MissingSecretKey, match="EMHANA_SECRET_KEY"):
        create_app()


def test_demo_mode_draws_a_key_per_process(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("EMHANA_DEMO_MODE", "1")
    app = create_app()
    with TestClient(app) as c:
        assert c.get("/login").cookies[CSRF_COOKIE]
    app.state.engine.dispose()


def test_a_secret_key_from_the_environment_signs_the_csrf_tokens(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("EMHANA_SECRET_KEY", "n-pgsYtoOB2_MeCpqeksF0WIZcSV_ac1-s-cUgM9-p13100Hrkp5b2EfNgIEtK_s")
    first, second = create_app(), create_app()
    with TestClient(first) as a, TestClient(second) as b:
        token = a.get("/login").cookies[CSRF_COOKIE]
        # Another process with the same key accepts the token (it is not a per-process random key).
        b.cookies.set(CSRF_COOKIE, token)
        resp = b.post("/login?lang=en", data={"username": "nobody", "password": "x", "csrf": token})
        assert resp.status_code == 401
    for app in (first, second):
        app.state.engine.dispose()


def test_settings_do_not_carry_a_default_secret() -> None:
    assert Settings.model_fields["secret_key"].default == ""
