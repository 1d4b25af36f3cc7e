"""Web hardening: security headers and ``Cache-Control: no-store`` on every answer (500 included), the client
address and scheme from trusted proxies only, and the secret key check.

The headers are added by the outermost layer of the app, outside Starlette's ServerErrorMiddleware, so that
the answer to an unexpected error carries them too. Rate limits live in ``emhana.web.ratelimit``, body limits
in ``emhana.web.limits``; ``install(app)`` puts them all in place.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from starlette.datastructures import Headers

from emhana.kernel.config import Settings
from emhana.web import limits, ratelimit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The desk's sign button (static/sign.js) talks to the user's local NCALayer on its one WebSocket origin.
# Pages use only same-origin scripts, styles and images (no inline script or style attribute: checked by
# tests/hardening/test_security.py); inline SVG charts use presentation attributes, which CSP allows.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self' wss://127.0.0.1:13579; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# /docs and /redoc (web/apidocs.py) load Swagger UI / ReDoc from the app itself (no CDN) with FastAPI's inline
# bootstrap script; they show the public API description only. ReDoc runs a worker from a blob.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
PERMISSIONS = (
    "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=()"
)
HSTS = "max-age=31536000; includeSubDomains"
# Answers carrying personal data must not be kept by a browser or a proxy; only the static files, and answers
# that set their own Cache-Control (the public trust lists), may be.
NO_STORE = (b"cache-control", b"no-store")
STATIC_PREFIX = "/static/"


def security_headers(path: str, https: bool, tiles: str = "") -> list[tuple[bytes, bytes]]:
    """Return the security headers of a response to a path (HSTS only over https); ``tiles`` is the origin of
    the configured map tile source (EMHANA_MAP_TILE_URL), which the pages' CSP then admits for images only."""
    return list(_headers(path.startswith(DOCS_PATHS), https, tiles))


def page_csp(tiles: str) -> str:
    """Return the pages' CSP, admitting images from the map tile origin when one is configured."""
    return CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {tiles};") if tiles else CSP


@functools.cache
def _headers(docs: bool, https: bool, tiles: str = "") -> tuple[tuple[bytes, bytes], ...]:
    """The possible header sets, encoded once (they are sent with every response)."""
    headers = [
        ("Content-Security-Policy", DOCS_CSP if docs else page_csp(tiles)),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return tuple((k.lower().encode(), v.encode()) for k, v in headers)


class HeadersMiddleware:
    """Add the security headers to every answer, and ``no-store`` to every answer but static files and those
    that set their own Cache-Control."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.tiles = settings.map_tile_origin()  # the map's tile origin, admitted for images (EMHANA_MAP_TILE_URL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                path = str(scope.get("path", ""))
                # Read when the answer starts: a trusted proxy's X-Forwarded-Proto has set the scheme by then.
                https = scope.get("scheme") == "https" or self.settings.cookie_secure
                extra = security_headers(path, https, self.tiles)
                names = {k for k, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                if not path.startswith(STATIC_PREFIX) and not any(k.lower() == NO_STORE[0] for k, _ in headers):
                    headers.append(NO_STORE)
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_secured)


class Proxies:
    """The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (EMHANA_TRUSTED_PROXIES)."""

    def __init__(self, spec: str) -> None:
        self.networks = [ipaddress.ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip()]

    def trusts(self, host: str) -> bool:
        """Tell whether an address is one of the proxies."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """Return the client behind a trusted peer: the nearest forwarded address that is not a proxy (addresses
        further left were written by the client itself and prove nothing)."""
        hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer


# uvicorn must not rewrite the client address itself (by default it believes X-Forwarded-For from 127.0.0.1, so a
# client on the same host could claim any address): ForwardedMiddleware does, from EMHANA_TRUSTED_PROXIES only.
# `emhana serve` and `emhana demo --serve` pass these options; run a bare uvicorn with --no-proxy-headers.
UVICORN_OPTIONS: dict[str, Any] = {"proxy_headers": False}


class ForwardedMiddleware:
    """Set the request's client address and scheme from the forwarded headers of a trusted proxy only."""

    def __init__(self, app: ASGIApp, *, proxies: Proxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and self.proxies.networks and self.proxies.trusts(str(client[0])):
            headers = Headers(scope=scope)
            forwarded = headers.getlist("x-forwarded-for")
            if forwarded:
                scope["client"] = (self.proxies.client(str(client[0]), forwarded), 0)
            proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
        await self.app(scope, receive, send)


class MissingSecretKey(RuntimeError):
    """The server was started outside demo mode without EMHANA_SECRET_KEY."""


def require_secret_key(settings: Settings) -> None:
    """Refuse to serve outside demo mode without a secret key from the environment.

    Without EMHANA_SECRET_KEY each process draws a random CSRF key: fine for the one-process demo, wrong
    for production (forms break across workers and restarts), so it is refused there.
    """
    if not settings.demo_mode and not settings.secret_key:
        raise MissingSecretKey(
            "EMHANA_SECRET_KEY is not set: set it to a long random value "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
            "or run the demo with EMHANA_DEMO_MODE=1."
        )


def install(app: Any, settings: Settings) -> None:
    """Install the limits and the headers: rate limits inside the body limits (a login body is read only once
    it is known to be small), then the forwarded-address check and the headers outside everything, even the
    answer to an unexpected error (Starlette's ServerErrorMiddleware is otherwise the outermost layer)."""
    ratelimit.install(app, settings)
    limits.install(app, settings)
    build = app.build_middleware_stack
    proxies = Proxies(settings.trusted_proxies)

    def build_secured() -> ASGIApp:
        return ForwardedMiddleware(HeadersMiddleware(build(), settings=settings), proxies=proxies)

    app.build_middleware_stack = build_secured
