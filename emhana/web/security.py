"""Web hardening: security headers on every response, rate limits by route prefix, and the secret key check.

Everything here is one ASGI middleware installed by ``install(app)``; the rate-limit rules are plain data
(``RateRule``) kept on ``app.state.rate_rules``, so a route family added later (the verifier at
``/verify`` and ``/api/v1/verify``) is limited as soon as its paths exist.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from emhana.kernel.config import Settings
from emhana.kernel.i18n import N_, negotiate
from emhana.web import problems

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Pages use only same-origin scripts, styles and images (no inline script or style attribute: checked by
# tests/hardening/test_security.py); inline SVG charts use presentation attributes, which CSP allows.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load Swagger UI / ReDoc from jsDelivr with an inline bootstrap script; they
# show the public API description only.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
PERMISSIONS = (
    "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=()"
)
HSTS = "max-age=31536000; includeSubDomains"
MSG_RATE_LIMITED = N_("Too many requests; try again later.")


def security_headers(path: str, https: bool) -> list[tuple[bytes, bytes]]:
    """Return the security headers of a response to a path (HSTS only over https)."""
    return list(_headers(path.startswith(DOCS_PATHS), https))


@functools.cache
def _headers(docs: bool, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The four possible header sets, encoded once (they are sent with every response)."""
    headers = [
        ("Content-Security-Policy", DOCS_CSP if docs else CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return tuple((k.lower().encode(), v.encode()) for k, v in headers)


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` requests in ``window`` seconds per key, for POST/GET… to paths under ``prefixes``.

    ``per`` is ``"ip"`` (the client address) or ``"username"`` (the ``username`` field of a login form);
    ``failures_only`` counts only answers with status 401 (failed logins), so that users who type their
    password right are never locked out by their own successes.
    """

    name: str
    prefixes: tuple[str, ...]
    limit: int
    window: float
    per: str = "ip"
    methods: frozenset[str] = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})
    failures_only: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request falls under this rule (a prefix matches itself and what lies below it)."""
        return method in self.methods and any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes)


LOGIN_PATHS = ("/login", "/api/v1/auth/token")
VERIFY_PATHS = ("/verify", "/api/v1/verify")

DEFAULT_RULES: tuple[RateRule, ...] = (
    # Failed logins only: an office behind one address logs in all morning without being locked out, while
    # guessing (one username or many) from one address is slowed down.
    RateRule("login-ip", LOGIN_PATHS, limit=30, window=10 * 60, methods=frozenset({"POST"}), failures_only=True),
    RateRule(
        "login-username",
        LOGIN_PATHS,
        limit=5,
        window=15 * 60,
        per="username",
        methods=frozenset({"POST"}),
        failures_only=True,
    ),
    RateRule("verify-ip", VERIFY_PATHS, limit=120, window=60),
)


class RateLimiter:
    """Sliding-window counters in process memory (one server process; behind several workers or servers the
    limits apply per process, which still bounds guessing).

    Thread-safe: sync routes run in a thread pool.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, rule: RateRule, key: str, now: float) -> deque[float]:
        hits = self._hits.get((rule.name, key))
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_old(now)
            hits = self._hits[(rule.name, key)] = deque()
        while hits and hits[0] <= now - rule.window:
            hits.popleft()
        return hits

    def _forget_old(self, now: float) -> None:
        for k in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - 3600]:
            del self._hits[k]
        if len(self._hits) >= self.max_keys:
            self._hits.clear()

    def retry_after(self, rule: RateRule, key: str) -> int:
        """Return 0 when the key may go on, else how many whole seconds until it may."""
        with self._lock:
            now = self.clock()
            hits = self._window(rule, key, now)
            if len(hits) < rule.limit:
                return 0
            return max(1, math.ceil(hits[0] + rule.window - now))

    def hit(self, rule: RateRule, key: str) -> None:
        """Count one request (or one failure) of a key."""
        with self._lock:
            now = self.clock()
            self._window(rule, key, now).append(now)


def client_ip(scope: Scope) -> str:
    """Return the client address (uvicorn's --proxy-headers puts the forwarded address here)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def form_username(body: bytes) -> str:
    """Return the ``username`` field of a URL-encoded login form, normalised ("" when absent)."""
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
    except ValueError:
        return ""
    return (fields.get("username") or [""])[0].strip().lower()[:200]


MAX_LOGIN_BODY = 16 * 1024


class SecurityMiddleware:
    """Add the security headers to every answer and apply the rate-limit rules before the routes."""

    def __init__(self, app: ASGIApp, *, state: Any, settings: Settings) -> None:
        self.app = app
        self.state = state
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = str(scope.get("path", "")), str(scope.get("method", "GET"))
        https = scope.get("scheme") == "https" or self.settings.cookie_secure
        extra = security_headers(path, https)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(extra)]
                message["headers"] = headers + extra
            await send(message)

        rules = [r for r in self.state.rate_rules if r.matches(method, path)]
        if not rules:
            await self.app(scope, receive, send_secured)
            return
        limiter: RateLimiter = self.state.rate_limiter
        if any(r.per == "username" for r in rules):
            body, receive = await _buffer(receive)
            username = form_username(body)
        else:
            username = ""
        keyed = [(r, username if r.per == "username" else client_ip(scope)) for r in rules]
        keyed = [(r, k) for r, k in keyed if k]
        wait = max((limiter.retry_after(r, k) for r, k in keyed), default=0)
        if wait:
            await self._refuse(scope, receive, send_secured, wait)
            return
        status: list[int] = []

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send_secured(message)

        await self.app(scope, receive, send_counted)
        for rule, key in keyed:
            if not rule.failures_only or (status and status[0] == 401):
                limiter.hit(rule, key)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, wait: int) -> None:
        request = Request(scope, receive)
        request.state.lang = negotiate(
            request.query_params.get("lang"),
            request.cookies.get("lang"),
            request.headers.get("accept-language"),
            self.settings.default_language,
        )
        response = problems.problem(
            request, status=429, code="core.rate_limited", template=MSG_RATE_LIMITED, headers={"Retry-After": str(wait)}
        )
        await response(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read a small request body and return it with a receive callable that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size <= MAX_LOGIN_BODY:
            chunks.append(chunk)
        more = bool(message.get("more_body", False))
    body = b"".join(chunks) if size <= MAX_LOGIN_BODY else b""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


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
    """Install the security middleware with the default rate rules (tests may replace app.state.rate_rules)."""
    app.state.rate_rules = list(DEFAULT_RULES)
    app.state.rate_limiter = RateLimiter()
    app.add_middleware(SecurityMiddleware, state=app.state, settings=settings)
