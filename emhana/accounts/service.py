"""Account use cases: password login, bearer tokens, and the authenticator interface."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, replace
from functools import cache
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
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
    """Return the actor of a live token or raise NotAuthenticated."""
    now = now or clock.now()
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
        return actor
    if not is_system_token(token):  # the scope gate would not have seen it
        raise NotAuthenticated()
    return replace(actor, scopes=frozenset(tok.scopes.split()))


def revoke_token(*, session: Session, token: str) -> None:
    """Revoke a token if it exists."""
    tok = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if tok is not None:
        tok.revoked = True


def revoke_tokens(*, session: Session, account_id: int) -> None:
    """Revoke every live token of an account: its API tokens and its page sessions end at once."""
    session.execute(
        update(ApiToken).where(ApiToken.account_id == account_id, ApiToken.revoked.is_(False)).values(revoked=True)
    )


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
