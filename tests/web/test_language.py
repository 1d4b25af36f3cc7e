"""Language negotiation as plain ASGI middleware (emhana.web.language): ?lang= first, then the cookie, then
Accept-Language, then the default; the choice on the request's state, Content-Language on the answer unless the
route set its own, and a valid ?lang= remembered in the cookie."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from emhana.kernel.config import Settings
from emhana.web.language import LanguageMiddleware


def app() -> FastAPI:
    application = FastAPI()
    application.add_middleware(LanguageMiddleware, settings=Settings(default_language="ru"))

    @application.get("/lang")
    def lang(request: Request) -> dict[str, str]:
        return {"lang": request.state.lang}

    @application.get("/own")
    def own() -> Response:
        return Response("x", headers={"Content-Language": "en"})

    @application.get("/switch")
    def switch(request: Request) -> dict[str, str]:
        request.state.lang = "kk"
        return {}

    return application


def test_query_then_cookie_then_accept_language_then_default() -> None:
    with TestClient(app()) as c:
        r = c.get("/lang?lang=kk", headers={"Accept-Language": "en", "Cookie": "lang=en"})
        assert r.json() == {"lang": "kk"} and r.headers["content-language"] == "kk"
        assert "lang=kk" in r.headers["set-cookie"] and "Max-Age=31536000" in r.headers["set-cookie"]
        c.cookies.clear()
        r = c.get("/lang", headers={"Accept-Language": "kk", "Cookie": "lang=en"})
        assert r.json() == {"lang": "en"} and "set-cookie" not in r.headers
        c.cookies.clear()
        r = c.get("/lang", headers={"Accept-Language": "kk, ru;q=0.5"})
        assert r.json() == {"lang": "kk"}
        r = c.get("/lang")
        assert r.json() == {"lang": "ru"} and r.headers["content-language"] == "ru"


def test_an_unknown_query_language_is_not_remembered() -> None:
    with TestClient(app()) as c:
        r = c.get("/lang?lang=xx", headers={"Accept-Language": "en"})
        assert r.json() == {"lang": "en"} and "set-cookie" not in r.headers


def test_the_routes_own_content_language_is_kept_and_a_changed_choice_is_sent() -> None:
    with TestClient(app()) as c:
        assert c.get("/own?lang=kk").headers.get_list("content-language") == ["en"]
        assert c.get("/switch").headers["content-language"] == "kk"
