"""Account use cases: password login, bearer tokens, and the authenticator interface."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from emhana.accounts.models import Account, ApiToken
from emhana.accounts.roles import Role
from emhana.accounts.rules import DEMO_PREFIX as DEMO_PREFIX  # re-exported: the demo seeding names its accounts
from emhana.kernel import clock
from emhana.kernel.errors import BadCredentials, NotAuthenticated, PasswordChangeRequired

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A valid hash of a random password, made on first use (hashing costs ~50 ms, not for every import).

    It is verified for unknown users so that response time does not reveal which usernames exist.
    """
    return _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Actor:
    """The acting user of a request, as the services see it."""

    account_id: int
    username: str
    role: Role
    display_name: str
    person_id: int | None = None
    entity_id: int | None = None
    # A system client's granted scopes (SMART ``system/...``); None for a person, whom the role alone governs.
    scopes: frozenset[str] | None = None


def actor_of(account: Account) -> Actor:
    """Return the actor view of an account."""
    return Actor(
        account_id=account.id,
        username=account.username,
        role=Role(account.role),
        display_name=account.display_name,
        person_id=account.person_id,
        entity_id=account.entity_id,
    )


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


class Authenticator(Protocol):
    """Turns credentials into an actor; an eGov / OpenID Connect provider implements the same call."""

    def authenticate(self, *, session: Session, username: str, password: str) -> Actor:
        """Return the actor for valid credentials or raise BadCredentials."""
        ...


class LocalAuthenticator:
    """Authenticates against local accounts with argon2 password hashes.

    Demo accounts (``demo-…``, password ``demo``) are refused unless the server runs in demo mode.
    """

    def __init__(self, *, allow_demo: bool = False) -> None:
        self.allow_demo = allow_demo

    def authenticate(self, *, session: Session, username: str, password: str) -> Actor:
        """Return the actor for valid credentials or raise BadCredentials; a one-time password opens no
        session (PasswordChangeRequired: its holder sets a password of their own first)."""
        account = verify_password(session=session, username=username, password=password, allow_demo=self.allow_demo)
        if account.must_change_password:
            raise PasswordChangeRequired()
        return actor_of(account)


def verify_password(*, session: Session, username: str, password: str, allow_demo: bool = False) -> Account:
    """Return the active account whose password this is, or raise BadCredentials (an unknown username costs
    the same time as a wrong password). Demo accounts answer only in demo mode."""
    if username.startswith(DEMO_PREFIX) and not allow_demo:
        raise BadCredentials()
    account = session.scalar(select(Account).where(Account.username == username))
    stored = account.password_hash if account is not None and account.active else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise BadCredentials() from None
    if account is None or stored is None:
        raise BadCredentials()
    return account


# A system client's token starts with this ("." is outside the token alphabet, so no person's token does): the scope
# gate looks up only such tokens, and a token with scopes but without the prefix is refused (``actor_for_token``).
SYSTEM_TOKEN_PREFIX = "sys."


def is_system_token(token: str) -> bool:
    """Tell whether a bearer token is a system client's (scoped) token by its form alone."""
    return token.startswith(SYSTEM_TOKEN_PREFIX)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    *,
    session: Session,
    actor: Actor,
    ttl: dt.timedelta,
    now: dt.datetime | None = None,
    scopes: frozenset[str] | None = None,
) -> str:
    """Create an opaque bearer token for the actor and return it (only its hash is stored); a system client's
    token carries its granted ``scopes``."""
    now = now or clock.now()
    token = (SYSTEM_TOKEN_PREFIX if scopes is not None else "") + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            account_id=actor.account_id,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + ttl,
            scopes=" ".join(sorted(scopes)) if scopes is not None else None,
        )
    )
    session.flush()
    return token


def actor_for_token(*, session: Session, token: str, now: dt.datetime | None = None) -> Actor:
    """Return the actor of a live token or raise NotAuthenticated (always a query: ``TokenCache`` caches it)."""
    return _lookup(session=session, token=token, now=now or clock.now())[0]


def _lookup(*, session: Session, token: str, now: dt.datetime) -> tuple[Actor, dt.datetime]:
    """Return the actor of a live token and the token's expiry, or raise NotAuthenticated."""
    row = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == _digest(token))
    ).first()
    if row is None:
        raise NotAuthenticated()
    tok, account = row
    expires = tok.expires_at if tok.expires_at.tzinfo else tok.expires_at.replace(tzinfo=dt.UTC)
    if tok.revoked or expires <= now or not account.active or account.must_change_password:
        raise NotAuthenticated()
    actor = actor_of(account)
    if tok.scopes is None:
        return actor, expires
    if not is_system_token(token):  # the scope gate would not have seen it
        raise NotAuthenticated()
    return replace(actor, scopes=frozenset(tok.scopes.split())), expires


def revoke_token(*, session: Session, token: str) -> None:
    """Revoke a token if it exists (and forget it in this process's cache, now and at commit)."""
    tok = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if tok is not None:
        tok.revoked = True
    TOKENS.forget_at_commit(session, digest=_digest(token))


def revoke_tokens(*, session: Session, account_id: int) -> None:
    """Revoke every live token of an account: its API tokens and its page sessions end at once (in this process
    at once; in the others within ``TokenCache.ttl``)."""
    session.execute(
        update(ApiToken).where(ApiToken.account_id == account_id, ApiToken.revoked.is_(False)).values(revoked=True)
    )
    TOKENS.forget_at_commit(session, account_id=account_id)


# --- the token cache -------------------------------------------------------------------------------------------

FORGET = "emhana.tokens.forget"  # session.info: digests and account ids to forget again once the session commits


@dataclass
class _Cached:
    actor: Actor
    expires_at: dt.datetime
    until: float  # monotonic time after which the token is looked up again


class TokenCache:
    """Actors of live tokens by the token's hash, kept ``ttl`` seconds per process, so that a request's
    authentication costs no query (docs/access-log.md, "Tokens").

    A sign-out, a revocation (``revoke_token``, ``revoke_tokens``: every change of an account's role, state or
    password goes through it) or any ORM change of an account or token row is honoured at once in the process
    that made it, and again when its transaction commits (so a lookup racing the change cannot keep the old
    state); the other processes see it within ``ttl`` seconds. A token's own expiry is checked on every use."""

    def __init__(self, ttl: float = 5.0, size: int = 100_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._generation = 0  # moves at every forget

    def cached(self, *, token: str, now: dt.datetime) -> Actor | None:
        """Return the actor of a token from the cache (no query; raise NotAuthenticated when it has expired), or
        None when this process does not hold it: ``actor`` then looks it up."""
        found = self._entries.get(_digest(token))
        if found is None or found.until <= time.monotonic():
            return None
        if found.expires_at <= now:
            raise NotAuthenticated()
        return found.actor

    def actor(self, *, sessions: Callable[[], AbstractContextManager[Session]], token: str, now: dt.datetime) -> Actor:
        """Return the actor of a live token, from the cache or else looked up in a session of ``sessions()``;
        raise NotAuthenticated."""
        digest = _digest(token)
        found = self._entries.get(digest)
        if found is not None and found.until > time.monotonic():
            if found.expires_at <= now:
                raise NotAuthenticated()
            return found.actor
        until, generation = time.monotonic() + self.ttl, self._generation
        with sessions() as session:
            actor, expires = _lookup(session=session, token=token, now=now)
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            if generation == self._generation:  # nothing was forgotten meanwhile: the lookup is not stale
                self._entries[digest] = _Cached(actor, expires, until)
        return actor

    def forget(self, *, digest: str | None = None, account_id: int | None = None) -> None:
        """Drop one token, or every token of an account, from the cache."""
        with self._lock:
            self._generation += 1
            if digest is not None:
                self._entries.pop(digest, None)
            if account_id is not None:
                for d in [d for d, c in self._entries.items() if c.actor.account_id == account_id]:
                    del self._entries[d]

    def forget_at_commit(self, session: Session, *, digest: str | None = None, account_id: int | None = None) -> None:
        """Forget now and again when the session's transaction commits."""
        self.forget(digest=digest, account_id=account_id)
        session.info.setdefault(FORGET, []).append((digest, account_id))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


TOKENS = TokenCache()


@event.listens_for(Session, "after_flush")
def _note_account_rows(session: Session, _flush: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Account):
            TOKENS.forget_at_commit(session, account_id=obj.id)
        elif isinstance(obj, ApiToken):
            TOKENS.forget_at_commit(session, digest=obj.token_hash, account_id=obj.account_id)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    for digest, account_id in session.info.pop(FORGET, ()):
        TOKENS.forget(digest=digest, account_id=account_id)


@event.listens_for(Session, "after_rollback")
def _forget_nothing(session: Session) -> None:
    session.info.pop(FORGET, None)


def create_account(
    *,
    session: Session,
    username: str,
    password: str | None,
    role: Role,
    display_name: str,
    person_id: int | None = None,
    entity_id: int | None = None,
) -> Account:
    """Create an account with an optional local password, unchecked and unaudited: for the demo seeding, the
    generator and tests. Real accounts are made by ``emhana.accounts.admin.create`` (checked and audited)."""
    account = Account(
        username=username,
        password_hash=hash_password(password) if password else None,
        role=role.value,
        display_name=display_name,
        person_id=person_id,
        entity_id=entity_id,
    )
    session.add(account)
    session.flush()
    return account
