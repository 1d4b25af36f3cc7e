"""Rate limits by route prefix: logins (per address, per username and address, and a slow-down per username)
and the verifier, with counters in the process or shared by every worker through Redis.

A rule is plain data (``RateRule``) kept on ``app.state.rate_rules``, so a route family added later is limited
as soon as its paths exist. Login rules key on exactly what the login routes read: the last ``username`` field
of the form, whatever its encoding (URL-encoded or multipart), parsed by the same parser. Guessing one
username from one address is refused after a few failures; guessing it from many addresses only slows it down
(each failure beyond a few doubles the wait), and never for the address where its owner last signed in, so
that an attack does not lock the owner out. The client address is the peer's, or the one a configured proxy
forwarded (``EMHANA_TRUSTED_PROXIES``, ``security.ForwardedMiddleware``; nobody's by default).
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
from starlette.requests import Request

from emhana.kernel import errors
from emhana.kernel.config import Settings
from emhana.web.limits import ASGIApp, Message, Receive, Scope, Send, read_body, refuse, replay, too_large

log = logging.getLogger("emhana.web")

# Every door that checks a password (choosing a new one proves the current one).
LOGIN_PATHS = ("/login", "/api/v1/auth/token", "/password", "/api/v1/auth/password")
VERIFY_PATHS = ("/verify", "/api/v1/verify")
MAX_LOGIN_BODY = 16 * 1024
KNOWN_FOR = 30 * 24 * 3600.0  # an address where a username signed in is spared its slow-down this long


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` requests in ``window`` seconds per key, for the methods and paths under ``prefixes``.

    ``per`` is ``"ip"`` (the client address), ``"username"`` (the username a login form carries) or
    ``"username+ip"``; ``failures_only`` counts only answers 401 (failed logins). With ``slow_down`` the rule
    does not refuse until its window ends: beyond ``limit`` each attempt waits ``slow_down`` seconds after the
    last, doubled for each failure more (at most ``max_delay``); with ``spare_known`` it does not apply from an
    address where the username last signed in.
    """

    name: str
    prefixes: tuple[str, ...]
    limit: int
    window: float
    per: str = "ip"
    methods: frozenset[str] = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})
    failures_only: bool = False
    slow_down: float = 0.0
    max_delay: float = 300.0
    spare_known: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request falls under this rule (a prefix matches itself and what lies below it)."""
        return method in self.methods and any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes)

    def wait(self, window: Window, now: float) -> int:
        """Return 0 when a key with these recent hits may go on, else how many whole seconds until it may."""
        if window.count < self.limit:
            return 0
        if self.slow_down:
            delay = min(self.slow_down * 2.0 ** min(window.count - self.limit, 40), self.max_delay)
            return max(0, math.ceil(window.newest + delay - now))
        return max(1, math.ceil(window.oldest + self.window - now))


POST = frozenset({"POST"})
DEFAULT_RULES: tuple[RateRule, ...] = (
    # Failed logins only, so an office behind one address logs in all morning. From one address: 30 failures in
    # 10 minutes whatever the usernames, 5 for one username in 15 minutes. From everywhere at once, one username
    # may fail 10 times in an hour, then waits 1 s, 2 s, 4 s... up to 5 minutes between attempts: except from
    # the address where its owner last signed in.
    RateRule("login-ip", LOGIN_PATHS, limit=30, window=10 * 60, methods=POST, failures_only=True),
    RateRule("login-pair", LOGIN_PATHS, limit=5, window=15 * 60, per="username+ip", methods=POST, failures_only=True),
    RateRule(
        "login-username",
        LOGIN_PATHS,
        limit=10,
        window=60 * 60,
        per="username",
        methods=POST,
        failures_only=True,
        slow_down=1.0,
        max_delay=300.0,
        spare_known=True,
    ),
    RateRule("verify-ip", VERIFY_PATHS, limit=120, window=60),
)


@dataclass(frozen=True)
class Window:
    """The hits of a key since the start of a rule's window: how many, the first and the last."""

    count: int = 0
    oldest: float = 0.0
    newest: float = 0.0


class Store(Protocol):
    """Where counters live: the process (``MemoryStore``) or Redis (``RedisStore``)."""

    blocking: bool  # calls wait on the network: the middleware runs them in a worker thread

    def window(self, key: str, since: float) -> Window: ...
    def add(self, key: str, at: float, keep: float) -> None: ...
    def clear(self, key: str) -> None: ...
    def mark(self, key: str, now: float, ttl: float) -> None: ...
    def marked(self, key: str, now: float) -> bool: ...


class MemoryStore:
    """Sliding windows in this process's memory (each worker counts alone), at most ``max_keys`` keys."""

    blocking = False

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._hits: dict[str, tuple[deque[float], float]] = {}
        self._marks: dict[str, float] = {}
        self._lock = threading.Lock()

    def window(self, key: str, since: float) -> Window:
        with self._lock:
            entry = self._hits.get(key)
            if entry is None:
                return Window()
            hits = [t for t in entry[0] if t > since]
            return Window(len(hits), hits[0], hits[-1]) if hits else Window()

    def add(self, key: str, at: float, keep: float) -> None:
        with self._lock:
            entry = self._hits.get(key)
            if entry is None:
                if len(self._hits) >= self.max_keys:
                    self._forget(at)
                entry = self._hits[key] = (deque(), keep)
            hits = entry[0]
            hits.append(at)
            while hits and hits[0] <= at - keep:
                hits.popleft()

    def _forget(self, now: float) -> None:
        for k in [k for k, (hits, keep) in self._hits.items() if not hits or hits[-1] <= now - keep]:
            del self._hits[k]
        if len(self._hits) >= self.max_keys:
            self._hits.clear()

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def mark(self, key: str, now: float, ttl: float) -> None:
        with self._lock:
            if len(self._marks) >= self.max_keys:
                self._marks = {k: until for k, until in self._marks.items() if until > now}
                if len(self._marks) >= self.max_keys:
                    self._marks.clear()
            self._marks[key] = now + ttl

    def marked(self, key: str, now: float) -> bool:
        with self._lock:
            return self._marks.get(key, 0.0) > now


class RedisStore:
    """Sliding windows in Redis sorted sets shared by every worker and server (clocks kept by NTP).

    If Redis cannot be reached the limits still hold per process (a ``MemoryStore`` takes over, with a warning
    at most once a minute) rather than letting every login through or refusing them all.
    """

    blocking = True

    def __init__(self, url: str, prefix: str = "emhana:rl:") -> None:
        import redis

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self.fallback = MemoryStore()
        self._warned = 0.0

    def _failed(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > 60:
            self._warned = time.monotonic()
            log.warning("rate limits: Redis unavailable, counting in this process (%s)", type(exc).__name__)

    def window(self, key: str, since: float) -> Window:
        k = self.prefix + key
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.zcount(k, f"({since!r}", "+inf")
            pipe.zrangebyscore(k, f"({since!r}", "+inf", start=0, num=1, withscores=True)
            pipe.zrevrangebyscore(k, "+inf", f"({since!r}", start=0, num=1, withscores=True)
            count, first, last = pipe.execute()
        except self.errors as exc:
            self._failed(exc)
            return self.fallback.window(key, since)
        return Window(int(count), float(first[0][1]), float(last[0][1])) if count else Window()

    def add(self, key: str, at: float, keep: float) -> None:
        k = self.prefix + key
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.zadd(k, {f"{at!r}:{secrets.token_hex(4)}": at})
            pipe.zremrangebyscore(k, "-inf", f"{at - keep!r}")
            pipe.expire(k, math.ceil(keep) + 1)
            pipe.execute()
        except self.errors as exc:
            self._failed(exc)
            self.fallback.add(key, at, keep)

    def clear(self, key: str) -> None:
        try:
            self.client.delete(self.prefix + key)
        except self.errors as exc:
            self._failed(exc)
        self.fallback.clear(key)

    def mark(self, key: str, now: float, ttl: float) -> None:
        try:
            self.client.set(self.prefix + key, b"1", px=max(1, int(ttl * 1000)))
        except self.errors as exc:
            self._failed(exc)
            self.fallback.mark(key, now, ttl)

    def marked(self, key: str, now: float) -> bool:
        try:
            return bool(self.client.exists(self.prefix + key))
        except self.errors as exc:
            self._failed(exc)
            return self.fallback.marked(key, now)


def _digest(*parts: str) -> str:
    """Keys are hashed: usernames (an IIN, for a citizen) and addresses never sit in Redis in clear."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


class RateLimiter:
    """The rules' counters over a store, read and written with one clock (seconds since the epoch, so that
    workers sharing Redis agree)."""

    def __init__(self, store: Store | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.clock = clock

    def retry_after(self, rule: RateRule, key: str, *, spared: bool = False) -> int:
        """Return 0 when the key may go on, else how many whole seconds until it may."""
        if spared and rule.spare_known:
            return 0
        now = self.clock()
        return rule.wait(self.store.window(f"{rule.name}:{_digest(key)}", now - rule.window), now)

    def hit(self, rule: RateRule, key: str) -> None:
        """Count one request (or one failure) of a key."""
        self.store.add(f"{rule.name}:{_digest(key)}", self.clock(), rule.window)

    def forget(self, rule: RateRule, key: str) -> None:
        """Drop the count of a key (a username signed in from this address: its earlier typos are forgiven)."""
        self.store.clear(f"{rule.name}:{_digest(key)}")

    def remember(self, username: str, ip: str) -> None:
        """Note the address where a username signed in."""
        self.store.mark(f"known:{_digest(username, ip)}", self.clock(), KNOWN_FOR)

    def known(self, username: str, ip: str) -> bool:
        """Tell whether a username signed in from this address lately."""
        return bool(username) and self.store.marked(f"known:{_digest(username, ip)}", self.clock())


def limiter_for(settings: Settings) -> RateLimiter:
    """The limiter the settings ask for: shared through Redis when EMHANA_REDIS_URL is set."""
    return RateLimiter(RedisStore(settings.redis_url) if settings.redis_url else MemoryStore())


# --- who is asking ------------------------------------------------------------------------------------------


def client_ip(scope: Scope) -> str:
    """Return the client address (security.ForwardedMiddleware has put a trusted proxy's client here)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def login_username(scope: Scope, body: bytes) -> str:
    """Return the username a login route reads from this body, normalised ("" when none).

    The form is parsed as FastAPI parses it for the route (URL-encoded or multipart; the last of repeated
    fields wins), so the limiter and the login never disagree on whose attempt it is.
    """
    request = Request(scope, replay(body, _no_more))
    try:
        form = await request.form(max_files=1, max_fields=20)
    except Exception:  # a form the route cannot read either (it answers 400/422, which counts nothing)
        return ""
    try:
        value = form.get("username")
        return value.strip().lower() if isinstance(value, str) else ""
    finally:
        await form.close()


async def _no_more() -> Message:
    return {"type": "http.disconnect"}


# --- the middleware -----------------------------------------------------------------------------------------


class RateLimitMiddleware:
    """Apply the rate-limit rules before the routes: refuse (429 with Retry-After) or let through and count."""

    def __init__(self, app: ASGIApp, *, state: Any, settings: Settings) -> None:
        self.app = app
        self.state = state
        self.settings = settings

    async def _run(self, call: Callable[[], Any]) -> Any:
        limiter: RateLimiter = self.state.rate_limiter
        return await anyio.to_thread.run_sync(call) if limiter.store.blocking else call()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = str(scope.get("path", "")), str(scope.get("method", "GET"))
        rules = [r for r in self.state.rate_rules if r.matches(method, path)]
        if not rules:
            await self.app(scope, receive, send)
            return
        limiter: RateLimiter = self.state.rate_limiter
        ip, username = client_ip(scope), ""
        if any(r.per != "ip" for r in rules):
            body = await read_body(receive, MAX_LOGIN_BODY)
            if body is None:
                await refuse(scope, receive, send, too_large(MAX_LOGIN_BODY), self.settings)
                return
            receive = replay(body, receive)
            username = await login_username(scope, body)
        keys = {"ip": ip, "username": username, "username+ip": f"{username}\x00{ip}"}
        keyed = [(r, keys[r.per]) for r in rules if r.per == "ip" or username]

        def check() -> int:
            spared = any(r.spare_known for r, _ in keyed) and limiter.known(username, ip)
            return max((limiter.retry_after(r, k, spared=spared) for r, k in keyed), default=0)

        wait = await self._run(check)
        if wait:
            await refuse(scope, receive, send, errors.RateLimited(), self.settings, {"Retry-After": str(wait)})
            return
        status: list[int] = []

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, send_counted)
        answered = status[0] if status else 500

        def count() -> None:
            for rule, key in keyed:
                if not rule.failures_only or answered == 401:
                    limiter.hit(rule, key)
            if username and any(r.failures_only for r, _ in keyed) and 200 <= answered < 400:
                limiter.remember(username, ip)  # a login: spare this address, forgive its typos
                for rule, key in keyed:
                    if rule.per == "username+ip":
                        limiter.forget(rule, key)

        await self._run(count)


def install(app: Any, settings: Settings) -> None:
    """Add the rate limits with the default rules (tests may replace app.state.rate_rules and rate_limiter)."""
    app.state.rate_rules = list(DEFAULT_RULES)
    app.state.rate_limiter = limiter_for(settings)
    app.add_middleware(RateLimitMiddleware, state=app.state, settings=settings)
