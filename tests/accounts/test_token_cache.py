"""Requests authenticate from a per-process token cache (emhana.accounts.service.TokenCache, docs/access-log.md,
"Tokens"): a sign-out, a revocation or a deactivation is honoured at once in the process that made it, a token's
expiry on every use, and a lookup that raced a revocation is not kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts import admin
from emhana.accounts.models import ApiToken
from emhana.accounts.roles import Role
from emhana.accounts.service import TOKENS, Actor, TokenCache, _digest, issue_token, revoke_tokens
from emhana.kernel.db import unit_of_work
from emhana.kernel.errors import NotAuthenticated

ME = "/api/v1/auth/me"


def test_a_signed_out_token_is_refused_at_once(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    _, token = make_actor(Role.CLINICIAN)
    h = {"Authorization": f"Bearer {token}"}
    assert client.get(ME, headers=h).status_code == 200
    assert client.get(ME, headers=h).status_code == 200  # now from the cache
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert client.get(ME, headers=h).status_code == 401


def test_a_deactivated_account_is_refused_at_once(
    client: TestClient, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, token = make_actor(Role.CLINICIAN)
    h = {"Authorization": f"Bearer {token}"}
    assert client.get(ME, headers=h).status_code == 200
    with unit_of_work(sessions) as s:
        admin.deactivate(
            session=s, actor=None, account=admin.administered(session=s, actor=None, account_id=clinician.account_id)
        )
    assert client.get(ME, headers=h).status_code == 401


def test_revoked_in_another_process_is_refused_within_the_ttl(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    _, token = make_actor(Role.CLINICIAN)
    cache = TokenCache(ttl=0)  # the bound another process waits at most; 0: look up every time
    now = dt.datetime.now(dt.UTC)
    assert cache.actor(sessions=lambda: unit_of_work(sessions, read_only=True), token=token, now=now)
    with sessions.begin() as s:  # as another process would: a plain UPDATE, nothing forgotten here
        s.execute(update(ApiToken).where(ApiToken.token_hash == _digest(token)).values(revoked=True))
    with pytest.raises(NotAuthenticated):
        cache.actor(sessions=lambda: unit_of_work(sessions, read_only=True), token=token, now=now)


def test_expiry_is_checked_on_every_use(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, _ = make_actor(Role.CLINICIAN)
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as s:
        token = issue_token(session=s, actor=actor, ttl=dt.timedelta(minutes=5), now=now)
    cache = TokenCache(ttl=3600)

    def use(at: dt.datetime) -> Actor:
        return cache.actor(sessions=lambda: unit_of_work(sessions, read_only=True), token=token, now=at)

    assert use(now).account_id == actor.account_id
    with pytest.raises(NotAuthenticated):
        use(now + dt.timedelta(minutes=6))  # from the cache, yet expired


def test_a_lookup_that_raced_a_revocation_is_not_kept(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, token = make_actor(Role.CLINICIAN)
    now = dt.datetime.now(dt.UTC)

    @contextmanager
    def racing() -> Iterator[Session]:
        with unit_of_work(sessions, read_only=True) as s:
            yield s  # the lookup reads the token live ...
        with unit_of_work(sessions) as w:  # ... and meanwhile it is revoked
            revoke_tokens(session=w, account_id=actor.account_id)

    assert TOKENS.actor(sessions=racing, token=token, now=now).account_id == actor.account_id  # answered as read
    with pytest.raises(NotAuthenticated):  # but not kept: the next use looks it up again
        TOKENS.actor(sessions=lambda: unit_of_work(sessions, read_only=True), token=token, now=now)
