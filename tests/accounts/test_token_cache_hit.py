"""The token cache's look without a query (emhana.accounts.service.TokenCache.cached): what the event loop
answers from before a worker thread is asked to look a token up (docs/access-log.md, "Tokens")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, TokenCache
from emhana.kernel.db import unit_of_work
from emhana.kernel.errors import NotAuthenticated


def test_a_token_is_held_only_once_looked_up_and_only_for_its_ttl(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, token = make_actor(Role.CLINICIAN)
    now = dt.datetime.now(dt.UTC)
    cache = TokenCache(ttl=60)
    assert cache.cached(token=token, now=now) is None
    found = cache.actor(sessions=lambda: unit_of_work(sessions, read_only=True), token=token, now=now)
    assert found.account_id == actor.account_id
    assert cache.cached(token=token, now=now) == found
    cache.forget(account_id=actor.account_id)
    assert cache.cached(token=token, now=now) is None
    stale = TokenCache(ttl=0)
    stale.actor(sessions=lambda: unit_of_work(sessions, read_only=True), token=token, now=now)
    assert stale.cached(token=token, now=now) is None


def test_an_expired_token_is_refused_from_the_cache(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    _, token = make_actor(Role.CLINICIAN)
    now = dt.datetime.now(dt.UTC)
    cache = TokenCache(ttl=60)
    cache.actor(sessions=lambda: unit_of_work(sessions, read_only=True), token=token, now=now)
    with pytest.raises(NotAuthenticated):
        cache.cached(token=token, now=now + dt.timedelta(days=3651))
