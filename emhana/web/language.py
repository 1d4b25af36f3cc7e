"""Language negotiation of every request, as plain ASGI middleware (no per-request task or stream).

``?lang=`` first, then the ``lang`` cookie, then Accept-Language, then the configured default
(``emhana.kernel.i18n.negotiate``). The choice is put on the request's state (``request.state.lang``) for the
routes, pages and error handlers; the answer gets ``Content-Language`` unless it set its own, and a valid
``?lang=`` is remembered in the ``lang`` cookie for a year.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import cookie_parser
from starlette.responses import Response

from emhana.kernel.config import Settings
from emhana.kernel.i18n import LANGUAGES, negotiate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LANG_COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
CONTENT_LANGUAGE = b"content-language"


def _cookie_header(lang: str) -> tuple[bytes, bytes]:
    """The Set-Cookie header that remembers a language (as Starlette's ``Response.set_cookie`` writes it)."""
    response = Response()
    response.set_cookie(LANG_COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="lax")
    return next((k, v) for k, v in response.raw_headers if k == b"set-cookie")


_COOKIES = {lang: _cookie_header(lang) for lang in LANGUAGES}
_CONTENT = {lang: (CONTENT_LANGUAGE, lang.encode()) for lang in LANGUAGES}


def choose(scope: Scope, default: str) -> tuple[str, str | None]:
    """Return the request's language and its ``?lang=`` as given (or None)."""
    query: str | None = None
    raw_query: bytes = scope.get("query_string", b"")
    if b"lang" in raw_query:
        query = QueryParams(raw_query).get("lang")
    cookie: str | None = None
    accept: str | None = None
    for name, value in scope.get("headers", ()):
        if name == b"cookie" and cookie is None:
            cookie = cookie_parser(value.decode("latin-1")).get(LANG_COOKIE)
            if cookie is None:
                cookie = ""
        elif name == b"accept-language" and accept is None:
            accept = value.decode("latin-1")
    return negotiate(query, cookie or None, accept, default), query


class LanguageMiddleware:
    """Negotiate the language of each HTTP request (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.default = settings.default_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang, query = choose(scope, self.default)
        scope.setdefault("state", {})["lang"] = lang
        remember = _COOKIES.get(query.lower()) if query else None

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if remember is not None:
                    headers.append(remember)
                if not any(k.lower() == CONTENT_LANGUAGE for k, _ in headers):
                    current = scope["state"].get("lang", lang)  # a route may have changed it (the language page)
                    headers.append(_CONTENT.get(current) or (CONTENT_LANGUAGE, str(current).encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_language)
