"""Rate limits: keyed on exactly the username the login reads (any form encoding), on the real client address
(forwarded headers only from configured proxies), slowing a guessed username down without locking its owner
out, and shared by every worker through Redis."""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.app import create_app
from emhana.kernel.config import Settings
from emhana.web import ratelimit
from emhana.web.ratelimit import DEFAULT_RULES, MemoryStore, RateLimiter, RateRule, RedisStore, Window
from tests.builders.servers import free_port

REDIS_URL = os.environ.get("EMHANA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TOKEN = "/api/v1/auth/token"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def rule(name: str, **changes: Any) -> RateRule:
    return dataclasses.replace(next(r for r in DEFAULT_RULES if r.name == name), **changes)


@pytest.fixture
def owner(make_actor: Callable[..., tuple[Actor, str]]) -> str:
    """An account whose password is "right-pass"; returns its username."""
    actor, _ = make_actor(Role.REGISTRAR, password="right-pass")
    return actor.username


class Clock:
    """A settable clock for the limiter (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


# --- what the login reads ---------------------------------------------------------------------------------


def test_multipart_logins_are_counted_like_url_encoded_ones(client: TestClient, owner: str) -> None:
    """A multipart form used to slip past the username rules (the limiter read URL-encoded bodies only)."""
    limit = rule("login-pair").limit
    for _ in range(limit):
        bad = client.post(TOKEN, files={"username": (None, owner), "password": (None, "wrong")})
        assert bad.status_code == 401
    refused = client.post(TOKEN, files={"username": (None, owner), "password": (None, "wrong")})
    assert refused.status_code == 429 and refused.json()["code"] == "core.rate_limited"
    # ... and the URL-encoded door is closed to this pair as well: one budget, whatever the encoding.
    assert client.post(TOKEN, data={"username": owner, "password": "right-pass"}).status_code == 429


def test_the_limiter_keys_on_the_username_the_login_reads(client: TestClient, owner: str) -> None:
    """With a repeated field the login reads the last value: a fresh first value must not buy a fresh budget."""
    limit = rule("login-pair").limit
    answers = [
        client.post(TOKEN, content=f"username=decoy-{i}&username={owner}&password=wrong".encode(), headers=FORM)
        for i in range(limit + 1)
    ]
    assert [a.status_code for a in answers[:limit]] == [401] * limit
    assert answers[-1].status_code == 429
    assert client.post(TOKEN, data={"username": "decoy-1", "password": "x"}).status_code == 401  # not the decoys


def test_login_bodies_larger_than_a_form_needs_are_refused_unread(client: TestClient) -> None:
    big = b"username=a&password=" + b"x" * (ratelimit.MAX_LOGIN_BODY + 1)
    resp = client.post(TOKEN, content=big, headers=FORM)
    assert resp.status_code == 413 and resp.json()["code"] == "core.body_too_large"


# --- the owner is not locked out ---------------------------------------------------------------------------


def test_the_right_password_still_works_after_wrong_ones_from_another_address(app: FastAPI, owner: str) -> None:
    """Five wrong passwords used to lock the username for 15 minutes, even for its owner with the right one."""
    with TestClient(app, client=("203.0.113.66", 40000)) as attacker:
        for _ in range(rule("login-pair").limit):
            assert attacker.post(TOKEN, data={"username": owner, "password": "wrong"}).status_code == 401
        assert attacker.post(TOKEN, data={"username": owner, "password": "right-pass"}).status_code == 429
    with TestClient(app, client=("198.51.100.7", 40000)) as home:
        assert home.post(TOKEN, data={"username": owner, "password": "right-pass"}).status_code == 200


def test_guessing_one_username_from_many_addresses_is_slowed_down_not_locked(app: FastAPI, owner: str) -> None:
    clock = Clock()
    app.state.rate_limiter = RateLimiter(clock=clock)
    slow = rule("login-username")

    def attempt(address: str, password: str = "wrong") -> tuple[int, str]:
        """One login from an address: its status and Retry-After."""
        with TestClient(app, client=(address, 40000)) as c:
            resp = c.post(TOKEN, data={"username": owner, "password": password})
        return resp.status_code, resp.headers.get("retry-after", "")

    assert attempt("198.51.100.7", "right-pass")[0] == 200  # the owner signs in at home
    for i in range(slow.limit):  # a botnet, one guess per address
        assert attempt(f"203.0.113.{i}")[0] == 401
    assert attempt("203.0.113.200") == (429, str(int(slow.slow_down)))
    clock.now += slow.slow_down
    assert attempt("203.0.113.201")[0] == 401  # after the wait one more guess, then twice as long
    assert attempt("203.0.113.202") == (429, str(int(2 * slow.slow_down)))
    # The owner at home is not slowed down by any of it; from a new address she waits seconds, not 15 minutes.
    assert attempt("198.51.100.7", "right-pass")[0] == 200
    status, wait = attempt("192.0.2.50", "right-pass")
    assert status == 429 and int(wait) <= 2 * slow.slow_down
    clock.now += 2 * slow.slow_down
    assert attempt("192.0.2.50", "right-pass")[0] == 200


def test_a_successful_login_forgives_the_typos_before_it(app: FastAPI, client: TestClient, owner: str) -> None:
    limit = rule("login-pair").limit
    for _ in range(limit - 1):
        assert client.post(TOKEN, data={"username": owner, "password": "typo"}).status_code == 401
    assert client.post(TOKEN, data={"username": owner, "password": "right-pass"}).status_code == 200
    for _ in range(limit - 1):
        assert client.post(TOKEN, data={"username": owner, "password": "typo"}).status_code == 401
    assert client.post(TOKEN, data={"username": owner, "password": "right-pass"}).status_code == 200


def test_the_slow_down_doubles_up_to_its_ceiling() -> None:
    slow = RateRule("s", ("/x",), limit=2, window=3600, slow_down=1.0, max_delay=8.0)
    assert slow.wait(Window(1, 0.0, 100.0), 100.0) == 0
    assert [slow.wait(Window(n, 0.0, 100.0), 100.0) for n in (2, 3, 4, 5, 6, 60)] == [1, 2, 4, 8, 8, 8]
    assert slow.wait(Window(3, 0.0, 100.0), 102.0) == 0
    fixed = RateRule("f", ("/x",), limit=2, window=60)
    assert fixed.wait(Window(2, 100.0, 130.0), 130.0) == 30


# --- the client address ------------------------------------------------------------------------------------


@pytest.fixture
def served(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app behind uvicorn with the options ``emhana serve`` gives it, on 127.0.0.1 (where a reverse proxy
    would sit, and where uvicorn by default believes X-Forwarded-For)."""
    from emhana.cli import main

    given: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: given.update(kwargs))
    main.serve(host="127.0.0.1", port=0, workers=1)
    options = {k: v for k, v in given.items() if k not in ("factory", "host", "port", "workers", "log_level")}
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off", ws="none", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_rotated_forwarded_address_from_an_untrusted_peer_does_not_reset_the_limit(app: FastAPI, served: str) -> None:
    app.state.rate_rules = [rule("login-ip", limit=3)]
    with httpx.Client(base_url=served) as c:
        answers = [
            c.post(
                TOKEN,
                data={"username": f"user-{i}", "password": "x"},
                headers={"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"},
            ).status_code
            for i in range(4)
        ]
    assert answers == [401, 401, 401, 429]


def test_a_trusted_proxy_names_the_client(database_url: str, sessions: sessionmaker[Session]) -> None:
    app = create_app(Settings(database_url=database_url, trusted_proxies="10.0.0.0/8, 127.0.0.1"))
    app.state.rate_rules = [rule("login-ip", limit=2)]
    try:
        with TestClient(app, client=("10.1.2.3", 40000)) as proxy:

            def fail(forwarded: str) -> int:
                data = {"username": "nobody", "password": "x"}
                return proxy.post(TOKEN, data=data, headers={"X-Forwarded-For": forwarded}).status_code

            # The client's own additions (left of what the proxy appended) change nothing.
            assert [fail(f"1.1.1.{i}, 203.0.113.9") for i in range(3)] == [401, 401, 429]
            assert fail("203.0.113.10") == 401  # another client behind the same proxy has its own budget
            assert fail("203.0.113.9, 10.9.9.9") == 429  # proxies in the chain are skipped
        with TestClient(app, client=("192.0.2.1", 40000)) as direct:  # not a proxy: its header is ignored
            codes = [
                direct.post(TOKEN, data={"username": "n", "password": "x"}, headers={"X-Forwarded-For": a})
                for a in ("203.0.113.20", "203.0.113.21", "203.0.113.22")
            ]
            assert [r.status_code for r in codes] == [401, 401, 429]
    finally:
        app.state.engine.dispose()


# --- counters shared through Redis -------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the local Redis, removed afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"emhana-test:{secrets.token_hex(6)}:"
    yield prefix
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_the_settings_choose_redis_when_its_url_is_set() -> None:
    assert isinstance(ratelimit.limiter_for(Settings(redis_url=REDIS_URL)).store, RedisStore)
    assert isinstance(ratelimit.limiter_for(Settings()).store, MemoryStore)


def test_two_app_instances_sharing_redis_share_the_count(
    database_url: str, sessions: sessionmaker[Session], redis_prefix: str
) -> None:
    """Two workers: before, each counted alone and a guesser got the limit once per worker."""
    first, second = (create_app(Settings(database_url=database_url, redis_url=REDIS_URL)) for _ in range(2))
    try:
        for app in (first, second):
            app.state.rate_limiter = RateLimiter(RedisStore(REDIS_URL, prefix=redis_prefix))
            app.state.rate_rules = [rule("login-ip", limit=4)]
        with TestClient(first) as a, TestClient(second) as b:
            answers = [
                (a if i % 2 else b).post(TOKEN, data={"username": f"u{i}", "password": "x"}).status_code
                for i in range(5)
            ]
        assert answers == [401, 401, 401, 401, 429]
    finally:
        for app in (first, second):
            app.state.engine.dispose()


def test_redis_windows_slide_and_marks_expire(redis_prefix: str) -> None:
    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    for at in (100.0, 110.0, 120.0):
        store.add("k", at, keep=60)
    assert store.window("k", since=105.0) == Window(2, 110.0, 120.0)
    assert store.window("k", since=200.0) == Window()
    store.clear("k")
    assert store.window("k", since=0.0) == Window()
    store.mark("m", now=0.0, ttl=30)
    assert store.marked("m", now=0.0) and not store.marked("other", now=0.0)


def test_without_redis_the_limits_still_hold_in_the_process() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", prefix="unreachable:")
    limiter = RateLimiter(store, clock=Clock())
    fixed = RateRule("f", ("/x",), limit=2, window=60)
    for _ in range(2):
        assert limiter.retry_after(fixed, "a") == 0
        limiter.hit(fixed, "a")
    assert limiter.retry_after(fixed, "a") == 60


def test_keys_never_carry_a_username_or_address_in_clear() -> None:
    store = MemoryStore()
    limiter = RateLimiter(store)
    limiter.hit(rule("login-pair"), "870412300415\x00203.0.113.5")
    limiter.remember("870412300415", "203.0.113.5")
    stored = " ".join([*store._hits, *store._marks])
    assert "870412300415" not in stored and "203.0.113.5" not in stored
