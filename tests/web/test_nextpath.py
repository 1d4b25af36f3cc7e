"""Where a page sends the person next: local paths only, and the GET form of the page after a refused form."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from emhana.web.nextpath import current_page, safe_next


@pytest.mark.parametrize(
    "value",
    ["/", "/attachment/my", "/attachment/dashboard?year=2025", "/facilities?q=%D0%B0&page=2", "/a/b#top"],
)
def test_a_local_path_is_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "/ok\\..\\evil",
        "javascript:alert(1)",
        "attachment/my",
        "/line\r\nSet-Cookie: x=1",
        "/" + "a" * 2001,
        "http:/evil.example",
    ],
)
def test_anything_else_falls_back_to_the_default(value: str | None) -> None:
    assert safe_next(value) == "/"
    assert safe_next(value, "") == ""


def request(app: FastAPI, method: str, path: str, query: str = "", referer: str = "") -> Request:
    headers = [(b"host", b"testserver")] + ([(b"referer", referer.encode())] if referer else [])
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": headers,
        "app": app,
        "scheme": "http",
        "server": ("testserver", 80),
        "root_path": "",
    }
    return Request(scope)


def test_current_page_is_the_get_form_of_the_page(app: FastAPI) -> None:
    # A GET page: itself, without the language parameter.
    assert current_page(request(app, "GET", "/facilities", "q=a&lang=kk")) == "/facilities?q=a"
    # After a form: the page it was sent from (a Referer of this site, lang dropped)...
    sent = request(app, "POST", "/accounts/7/role", referer="http://testserver/accounts?lang=en&page=2")
    assert current_page(sent) == "/accounts?page=2"
    # ...never another site's page...
    assert current_page(request(app, "POST", "/accounts/7/role", referer="https://evil.example/x")) == "/"
    # ...else the same path when it answers GET, else home.
    assert current_page(request(app, "POST", "/login")) == "/login"
    assert current_page(request(app, "POST", "/logout")) == "/"
