"""No raw JSON reaches a browser: errors are HTML pages in its language (API clients keep problem+json), the
language links lead to a GET page, and a login returns to the page asked for."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.kernel.i18n import translate
from emhana.web.render import MSG_FORM_INVALID, MSG_METHOD
from tests.builders.web import csrf_of

HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def language_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" lang="\w\w" hreflang', html)


def test_a_browser_gets_an_html_page_where_an_api_client_gets_problem_json(client: TestClient) -> None:
    for lang in ("kk", "ru", "en"):
        page = client.get(f"/logout?lang={lang}", headers=HTML)  # a URL that only receives forms
        assert page.status_code == 405 and page.headers["content-type"].startswith("text/html")
        assert page.headers["allow"] == "POST"
        assert translate(lang, MSG_METHOD) in page.text and '<html lang="' + lang in page.text
    came_from = client.get("/logout", headers={**HTML, "referer": "http://testserver/facilities?q=a&lang=en"})
    assert 'href="/facilities?q=a">' in came_from.text  # back to the page it came from
    assert (
        'href="https://evil.example'
        not in client.get("/logout", headers={**HTML, "referer": "https://evil.example/"}).text
    )
    api = client.get("/logout")
    assert api.status_code == 405 and api.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/nothing-here", headers=HTML).headers["content-type"] == "application/problem+json"
    missing = client.get("/nothing-here?lang=en", headers=HTML)
    assert missing.status_code == 404 and "Page not found" in missing.text
    bad_form = client.post("/login?lang=en", data={"username": "x" * 500, "password": "y"}, headers=HTML)
    assert bad_form.status_code == 422 and translate("en", MSG_FORM_INVALID) in bad_form.text
    assert "application/problem+json" not in bad_form.headers["content-type"]


def test_language_links_after_a_refused_form_lead_to_a_get_page(client: TestClient) -> None:
    token = csrf_of(client.get("/login?lang=en").text)
    refused = client.post(
        "/login",
        data={"username": "nobody", "password": "x", "csrf": token},
        headers={**HTML, "referer": "http://testserver/login?next=%2Fattachment%2Fmy&lang=en"},
    )
    assert refused.status_code == 401
    links = language_links(refused.text)
    assert links == [f"/language/{code}?next=%2Flogin%3Fnext%3D%252Fattachment%252Fmy" for code in ("kk", "ru", "en")]
    switched = client.get(links[0].replace("&amp;", "&"), headers=HTML, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login?next=%2Fattachment%2Fmy"
    assert switched.cookies.get("lang") == "kk"
    page = client.get(switched.headers["location"], headers=HTML)
    assert page.status_code == 200 and '<html lang="kk"' in page.text
    assert 'name="next" value="/attachment/my"' in page.text


def test_the_language_route_never_leaves_the_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        resp = client.get("/language/ru", params={"next": target}, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert client.get("/language/de?next=/", headers=HTML, follow_redirects=False).status_code == 404


def test_a_page_that_needs_a_login_returns_there_after_it(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN, password="secret-pass")
    asked = client.get("/attachment/dashboard?year=2025&lang=en", headers=HTML, follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=%2Fattachment%2Fdashboard%3Fyear%3D2025"
    form = client.get(asked.headers["location"], headers=HTML)
    assert "Log in to see this page." in form.text
    username = actor.username
    wrong = client.post(
        "/login",
        data={"username": username, "password": "nope", "csrf": csrf_of(form.text), "next": "/attachment/dashboard"},
        headers=HTML,
    )
    assert wrong.status_code == 401 and 'name="next" value="/attachment/dashboard"' in wrong.text  # kept
    done = client.post(
        "/login",
        data={"username": username, "password": "secret-pass", "csrf": csrf_of(wrong.text), "next": "/facilities?q=a"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/facilities?q=a"
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    away = client.post(
        "/login",
        data={"username": username, "password": "secret-pass", "csrf": token, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert away.status_code == 303 and away.headers["location"] == "/"
    # An API client is not redirected: it gets 401 problem+json.
    client.cookies.clear()
    assert client.get("/api/v1/auth/me").status_code == 401


def test_an_unexpected_error_is_a_page_for_a_browser_and_a_problem_for_an_api_client(app: FastAPI) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test-broken", broken)
    app.add_api_route("/api/v1/test-broken", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/test-broken?lang=ru", headers=HTML)
        assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
        assert "Что-то пошло не так" in page.text and "boom" not in page.text
        api = c.get("/api/v1/test-broken", headers=HTML)
        assert api.status_code == 500 and api.headers["content-type"] == "application/problem+json"


def test_a_refusal_before_any_route_is_a_page_for_a_browser(client: TestClient) -> None:
    big = {"username": "x", "password": "y" * (20 * 1024), "csrf": "z"}  # over the login form's body limit
    page = client.post("/login?lang=en", data=big, headers=HTML)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="en"' in page.text
    api = client.post("/api/v1/auth/token?lang=en", data=big)
    assert api.status_code == 413 and api.headers["content-type"] == "application/problem+json"
