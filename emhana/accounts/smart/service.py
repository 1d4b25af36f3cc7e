"""SMART Backend Services token issue (issue 17): check a client assertion (RFC 7523) against the client's
registered JWK set, keep its ``jti`` against replay and issue a short bearer token carrying the granted system
scopes. The pure checks live in ``rules``; this module decodes, reads and writes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.accounts.models import Account, ClientApp, ClientAssertion
from emhana.accounts.service import actor_of, issue_token
from emhana.accounts.smart import rules
from emhana.accounts.smart.rules import Refusal, refuse_client
from emhana.kernel import clock


class TokenRefused(Exception):
    """A token request refused, with the OAuth error and the registry's code and message."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.code)


@dataclass(frozen=True)
class TokenRequest:
    """The form of a token request, as posted (fields missing are None)."""

    grant_type: str | None
    client_assertion_type: str | None
    client_assertion: str | None
    scope: str | None
    client_id: str | None = None


@dataclass(frozen=True)
class Granted:
    """An access token issued to a system client."""

    access_token: str
    expires_in: int
    scope: str
    client_id: str


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the header and claims of a JWT before its signature is checked (to find the client and key)."""
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenRefused(refuse_client("oauth.assertion_malformed", rules.MSG_MALFORMED)) from None
    if not isinstance(claims, dict):
        raise TokenRefused(refuse_client("oauth.assertion_malformed", rules.MSG_MALFORMED))
    return header, claims


def _verified(assertion: str, keys: list[dict[str, Any]], alg: str) -> dict[str, Any]:
    """Return the claims of an assertion whose signature verifies with one of the keys (claims are checked by
    ``rules.claims_problem`` on the process clock, not by the JWT library's own clock)."""
    for key in keys:
        try:
            verifier = jwt.PyJWK(key, algorithm=alg)
        except jwt.PyJWTError:
            continue  # a registered key this library cannot read verifies nothing
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key=verifier.key,
                algorithms=[alg],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise TokenRefused(refuse_client("oauth.assertion_malformed", rules.MSG_MALFORMED)) from None
        return claims
    raise TokenRefused(refuse_client("oauth.assertion_signature", rules.MSG_SIGNATURE))


def _client(session: Session, client_id: object) -> tuple[ClientApp, Account]:
    """Return the active client of a client_id and its active account, or refuse."""
    row = (
        session.execute(
            select(ClientApp, Account)
            .join(Account, Account.id == ClientApp.account_id)
            .where(ClientApp.client_id == client_id)
        ).first()
        if isinstance(client_id, str) and 0 < len(client_id) <= 64
        else None
    )
    if row is None or not row[0].active or not row[1].active:
        raise TokenRefused(refuse_client("oauth.unknown_client", rules.MSG_UNKNOWN_CLIENT))
    return row[0], row[1]


def _jwks(app: ClientApp) -> dict[str, Any]:
    try:
        value = json.loads(app.jwks or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _remember(session: Session, client_id: str, jti: str, expires: dt.datetime, now: dt.datetime) -> None:
    """Record a used jti until its assertion expires, purging the expired ones; refuse a jti already used."""
    session.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < now - rules.LEEWAY))
    used = session.scalar(
        select(ClientAssertion.id).where(ClientAssertion.client_id == client_id, ClientAssertion.jti == jti)
    )
    if used is not None:
        raise TokenRefused(refuse_client("oauth.assertion_replayed", rules.MSG_REPLAY))
    try:
        with session.begin_nested():  # two requests with one jti at once: the unique key refuses the second
            session.add(ClientAssertion(client_id=client_id, jti=jti, expires_at=expires))
            session.flush()
    except IntegrityError:
        raise TokenRefused(refuse_client("oauth.assertion_replayed", rules.MSG_REPLAY)) from None


def authenticate(
    *, session: Session, assertion: str, client_id: str | None, token_url: str, now: dt.datetime
) -> tuple[ClientApp, Account, dict[str, Any]]:
    """Return the client an assertion authenticates, its account and the verified claims, or refuse."""
    header, unverified = _unverified(assertion)
    alg = header.get("alg")
    if alg not in rules.ALGORITHMS:
        raise TokenRefused(refuse_client("oauth.assertion_algorithm", rules.MSG_ALGORITHM))
    issuer = unverified.get("iss")
    if client_id is not None and client_id != issuer:
        raise TokenRefused(refuse_client("oauth.assertion_subject", rules.MSG_ISS_SUB))
    app, account = _client(session, issuer)
    kid = header.get("kid")
    keys = rules.public_keys(_jwks(app), kid=kid if isinstance(kid, str) else None, alg=str(alg))
    if not keys:
        raise TokenRefused(refuse_client("oauth.unknown_key", rules.MSG_UNKNOWN_KEY))
    claims = _verified(assertion, keys, str(alg))
    problem = rules.claims_problem(claims, client_id=app.client_id, token_url=token_url, now=now)
    if problem is not None:
        raise TokenRefused(problem)
    return app, account, claims


def issue(
    *,
    session: Session,
    request: TokenRequest,
    token_url: str,
    now: dt.datetime | None = None,
    claims_now: dt.datetime | None = None,
) -> Granted:
    """Check a client-credentials token request with its client assertion and issue a token with the granted
    scopes (the requested ones narrowed to the client's grant); raise TokenRefused otherwise.

    ``claims_now`` is the time the assertion's ``exp``/``iat`` and its remembered ``jti`` are checked against: the
    client stamps them with the machine's real time (``clock.machine_now``), which the demo's clock does not
    shift; ``now`` (the registry's clock) dates the token. Both default to ``now`` when only it is given."""
    now = now or clock.now()
    claims_now = claims_now or now
    if request.grant_type != rules.GRANT_TYPE:
        raise TokenRefused(
            Refusal(
                "unsupported_grant_type", "oauth.unsupported_grant_type", rules.MSG_GRANT, {"grant": rules.GRANT_TYPE}
            )
        )
    if request.client_assertion_type != rules.ASSERTION_TYPE:
        raise TokenRefused(
            Refusal("invalid_request", "oauth.assertion_type", rules.MSG_ASSERTION_TYPE, {"type": rules.ASSERTION_TYPE})
        )
    if not request.client_assertion:
        raise TokenRefused(Refusal("invalid_request", "oauth.assertion_missing", rules.MSG_ASSERTION_MISSING))
    app, account, claims = authenticate(
        session=session,
        assertion=request.client_assertion,
        client_id=request.client_id,
        token_url=token_url,
        now=claims_now,
    )
    if not (request.scope or "").strip():
        raise TokenRefused(Refusal("invalid_scope", "oauth.scope_missing", rules.MSG_SCOPE_MISSING))
    granted = rules.grant(request.scope or "", app.scopes.split())
    if not granted:
        raise TokenRefused(Refusal("invalid_scope", "oauth.invalid_scope", rules.MSG_SCOPE))
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    _remember(session, app.client_id, str(claims["jti"]), expires, claims_now)
    actor = actor_of(account)
    token = issue_token(session=session, actor=actor, ttl=rules.TOKEN_LIFETIME, now=now, scopes=frozenset(granted))
    return Granted(
        access_token=token,
        expires_in=int(rules.TOKEN_LIFETIME.total_seconds()),
        scope=" ".join(granted),
        client_id=app.client_id,
    )
