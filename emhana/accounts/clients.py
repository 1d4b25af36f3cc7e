"""MIS client applications (issue 17): registered by the Fund for any organization, or by an organization's
administrator for its own; each bound to exactly one organization, acting through an account of its own (role
``mis_client``, bound to the same organization, with no password: it authenticates with SMART Backend Services,
a JWT signed with one of its registered keys), and granted at most its system scopes.

Every change goes through ``accounts.admin.write_account`` on the client's account (audited in the same
transaction as every account change): ``client.registered``, ``client.keys_set``, ``client.scopes_set``,
``client.deactivated``. Deactivation revokes every token of the client at once.

The key set is a JWK set (RFC 7517) of public keys as SMART Backend Services requires: RSA keys for RS384,
EC P-384 keys for ES384, each with its ``kid``; a private key (a JWK with ``d``) is refused and never stored.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from emhana.accounts.admin import write_account
from emhana.accounts.models import Account, ClientApp
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.rules import display_name_problem
from emhana.accounts.service import Actor, revoke_tokens
from emhana.accounts.smart.rules import RESOURCE_TYPES, parse_scope
from emhana.kernel import clock
from emhana.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from emhana.kernel.i18n import N_

# What a new client is offered by default on the page: push results and read them back, the worker, the directory.
PUSH_AND_READ = (
    "system/Observation.c",
    "system/DiagnosticReport.c",
    "system/Immunization.c",
    "system/Condition.c",
    "system/Provenance.c",
    "system/Patient.rs",
    "system/Organization.rs",
    "system/Location.rs",
    "system/Practitioner.rs",
    "system/PractitionerRole.rs",
    # reading back what it sent (and the books of its organization's workers)
    "system/Observation.rs",
    "system/DiagnosticReport.rs",
    "system/Immunization.rs",
    "system/Condition.rs",
)
# The scopes the page offers as checkboxes.
OFFERED_SCOPES = (*PUSH_AND_READ, "system/*.rs")
ALGORITHMS = {"RS384": "RSA", "ES384": "EC"}
MAX_KEYS = 10
MAX_JWKS_CHARS = 64_000
CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
USERNAME_PREFIX = "client-"

MSG_JWKS_SHAPE = N_('The key set must be a JSON object with a "keys" list of 1 to 10 public keys (a JWK set).')
MSG_JWK_PRIVATE = N_("Key {number} of the set is a private key: register the public keys only, keep the private ones.")
MSG_JWK_KIND = N_(
    "Key {number} of the set must be an RSA public key with alg RS384 or an EC P-384 public key with alg ES384."
)
MSG_JWK_KID = N_("Key {number} of the set needs a kid of its own (1 to 200 characters, not used by another key).")
MSG_JWK_VALUE = N_("Key {number} of the set is not a valid public key.")
MSG_CLIENT_ID = N_(
    "A client id has 3 to 64 characters: small Latin letters, digits, dots, hyphens or underscores, "
    "beginning with a letter or a digit."
)
MSG_UNKNOWN_ORGANIZATION = N_("There is no healthcare entity with this number in the database.")


class ClientNotFound(NotFound):
    code = "clients.not_found"
    message = N_("There is no such client application.")


class ClientInvalid(InvalidInput):
    code = "clients.invalid"
    message = N_("The client application is not valid.")


class KeySetInvalid(InvalidInput):
    code = "clients.invalid_jwks"
    message = MSG_JWKS_SHAPE


class ScopeInvalid(InvalidInput):
    code = "clients.invalid_scope"
    message = N_(
        "“{scope}” is not a system scope of this server: give scopes such as system/Observation.c, "
        "system/Patient.rs or system/*.rs."
    )


class ClientIdTaken(Conflict):
    code = "clients.client_id_taken"
    message = N_("This client id is already registered.")


class ClientInactive(Conflict):
    code = "clients.inactive"
    message = N_("This client application is deactivated: register a new one.")


class NotOwnOrganization(Forbidden):
    code = "clients.not_own_organization"
    message = N_("An organization's administrator registers client applications of its own organization only.")


@dataclass(frozen=True)
class NewClient:
    """A client application to register: its name, its organization, and optionally its keys and scopes."""

    name: str
    entity_id: int | None = None  # None: an organization's administrator means its own
    jwks: str | None = None
    scopes: tuple[str, ...] = ()
    client_id: str | None = None  # None: a fresh random one (the command line and the demo may choose)
    account_id: int | None = None  # an existing mis_client account of the organization to act through (the demo's)


# ---------------------------------------------------------------------------------------------------------------
# Pure checks


def _b64url(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None


def _public_key_ok(jwk: dict[str, Any]) -> bool:
    """Tell whether a JWK's public numbers make a key (RSA of 2048 bits or more, or a point of P-384)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        if jwk["kty"] == "RSA":
            n, e = _b64url(jwk.get("n")), _b64url(jwk.get("e"))
            if n is None or e is None:
                return False
            key = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
            return key.key_size >= 2048
        x, y = _b64url(jwk.get("x")), _b64url(jwk.get("y"))
        if jwk.get("crv") != "P-384" or x is None or y is None or len(x) != 48 or len(y) != 48:
            return False
        ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP384R1()).public_key()
        return True
    except (ValueError, TypeError):
        return False


def parse_jwks(text: str) -> str:
    """Check a JWK set of public keys for SMART Backend Services and return it as compact JSON; raise
    KeySetInvalid naming the first bad key otherwise."""
    if len(text) > MAX_JWKS_CHARS:
        raise KeySetInvalid()
    try:
        doc = json.loads(text)
    except ValueError:
        raise KeySetInvalid() from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list) or not 1 <= len(doc["keys"]) <= MAX_KEYS:
        raise KeySetInvalid()
    kids: set[str] = set()
    keys = []
    for number, jwk in enumerate(doc["keys"], start=1):
        if not isinstance(jwk, dict):
            raise KeySetInvalid()
        if any(private in jwk for private in ("d", "p", "q", "dp", "dq", "qi", "oth", "k")):
            raise KeySetInvalid(MSG_JWK_PRIVATE, number=number)
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not 1 <= len(kid) <= 200 or kid in kids:
            raise KeySetInvalid(MSG_JWK_KID, number=number)
        kids.add(kid)
        if ALGORITHMS.get(str(jwk.get("alg"))) != jwk.get("kty") or jwk.get("use", "sig") != "sig":
            raise KeySetInvalid(MSG_JWK_KIND, number=number)
        if not _public_key_ok(jwk):
            raise KeySetInvalid(MSG_JWK_VALUE, number=number)
        keys.append(jwk)
    return json.dumps({"keys": keys}, separators=(",", ":"), sort_keys=True)


def parse_scopes(scopes: tuple[str, ...] | list[str] | str) -> str:
    """Check system scopes (``system/<Type>.<cruds>`` of the door's types, or ``system/*.rs``; the SMART 1 forms
    ``.read``/``.write``/``.*`` too) and return them
    space-separated, sorted and without repeats; raise ScopeInvalid naming the first unknown one."""
    given = scopes.split() if isinstance(scopes, str) else [s for part in scopes for s in part.split()]
    for scope in given:
        parsed = parse_scope(scope)  # the same reading as the token endpoint's (emhana.accounts.smart.rules)
        wildcard = parsed is not None and parsed.resource == "*"
        if parsed is None or (wildcard and not parsed.permissions <= {"r", "s"}):
            raise ScopeInvalid(scope=scope[:100])
        if not wildcard and parsed.resource not in RESOURCE_TYPES:
            raise ScopeInvalid(scope=scope[:100])
    return " ".join(sorted(set(given)))


def key_ids(client: ClientApp) -> list[str]:
    """Return the kids of a client's registered keys."""
    return [str(k.get("kid", "")) for k in json.loads(client.jwks or '{"keys": []}').get("keys", [])]


# ---------------------------------------------------------------------------------------------------------------
# Who may


def may_register(actor: Actor | None, entity_id: int) -> bool:
    """Tell whether the actor registers and keeps client applications of this organization: the command line
    and the Fund for any, an organization's administrator for its own only."""
    if actor is None:
        return True
    if not may(actor.role, Can.REGISTER_CLIENT_APPS):
        return False
    return actor.role is Role.FUND_ADMIN or (actor.entity_id is not None and actor.entity_id == entity_id)


def _entity_exists(session: Session, entity_id: int) -> bool:
    """Read through the foreign key: this layer does not import the organizations' tables above it."""
    target = next(iter(ClientApp.__table__.c.entity_id.foreign_keys)).column
    return bool(session.scalar(select(exists().where(target == entity_id))))


# ---------------------------------------------------------------------------------------------------------------
# Use cases


def register(*, session: Session, actor: Actor | None, new: NewClient) -> ClientApp:
    """Register a client application bound to one organization, with its own ``mis_client`` account (no
    password; or the existing one ``new.account_id`` names); the keys and scopes may come now or later."""
    entity_id = new.entity_id
    if entity_id is None and actor is not None and actor.role is not Role.FUND_ADMIN:
        entity_id = actor.entity_id
    if entity_id is None:
        raise ClientInvalid(MSG_UNKNOWN_ORGANIZATION)
    if not may_register(actor, entity_id):
        raise NotOwnOrganization()
    name = new.name.strip()
    problem = display_name_problem(name)
    if problem is not None:
        raise ClientInvalid(problem)
    if not _entity_exists(session, entity_id):
        raise ClientInvalid(MSG_UNKNOWN_ORGANIZATION)
    jwks = parse_jwks(new.jwks) if new.jwks is not None and new.jwks.strip() else '{"keys":[]}'
    scopes = parse_scopes(new.scopes)
    client_id = (new.client_id or "").strip() or secrets.token_hex(16)
    if not CLIENT_ID.fullmatch(client_id):
        raise ClientInvalid(MSG_CLIENT_ID)
    if session.scalar(select(exists().where(ClientApp.client_id == client_id))):
        raise ClientIdTaken()
    account = _own_account(session, actor, new, client_id, name, entity_id)
    client = ClientApp(
        client_id=client_id,
        name=name,
        account_id=account.id,
        entity_id=entity_id,
        jwks=jwks,
        scopes=scopes,
        active=True,
        created_at=clock.now(),
        created_by=actor.account_id if actor else None,
    )
    session.add(client)
    session.flush()
    write_account(session, account, action="client.registered", actor=actor)
    return client


def _own_account(
    session: Session, actor: Actor | None, new: NewClient, client_id: str, name: str, entity_id: int
) -> Account:
    """Return the account the client acts through: a new one (no password), or an existing ``mis_client`` account
    of the same organization that has no client application yet (``new.account_id``: the demo's MIS account,
    which keeps its demo password so that the demo shows both ways to a token)."""
    if new.account_id is not None:
        account = session.get(Account, new.account_id)
        taken = session.scalar(select(exists().where(ClientApp.account_id == new.account_id)))
        fits = account is not None and account.role == Role.MIS_CLIENT.value and account.entity_id == entity_id
        if account is None or not fits or not account.active or taken:
            raise ClientInvalid()
        return account
    username = f"{USERNAME_PREFIX}{client_id}"
    if session.scalar(select(exists().where(Account.username == username))):
        raise ClientIdTaken()
    account = Account(
        username=username,
        password_hash=None,  # no password: a system client proves a registered key (SMART Backend Services)
        role=Role.MIS_CLIENT.value,
        display_name=name[:200],
        entity_id=entity_id,
        active=True,
        created_by=actor.account_id if actor else None,
    )
    session.add(account)
    session.flush()
    return account


def listing(
    *, session: Session, actor: Actor | None, entity_id: int | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[ClientApp]]:
    """Return how many client applications the actor keeps (of ``entity_id`` when given) and one page of them,
    newest first."""
    query = select(ClientApp)
    if actor is not None and actor.role is not Role.FUND_ADMIN:
        if not may(actor.role, Can.REGISTER_CLIENT_APPS) or actor.entity_id is None:
            return 0, []
        query = query.where(ClientApp.entity_id == actor.entity_id)
    if entity_id is not None:
        query = query.where(ClientApp.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ClientApp.id.desc()).limit(limit).offset(offset)).all()
    return total, list(rows)


def kept(*, session: Session, actor: Actor | None, client_id: str) -> ClientApp:
    """Return a client application the actor keeps; any other answers as if it did not exist."""
    client = session.scalar(select(ClientApp).where(ClientApp.client_id == client_id.strip()))
    if client is None or not may_register(actor, client.entity_id):
        raise ClientNotFound()
    return client


def _changeable(client: ClientApp) -> None:
    if not client.active:
        raise ClientInactive()


def _account(session: Session, client: ClientApp) -> Account:
    account = session.get(Account, client.account_id)
    if account is None:  # the foreign key keeps it; a broken database answers as an internal error
        raise RuntimeError(f"client application {client.id} has no account")
    return account


def set_keys(*, session: Session, actor: Actor | None, client: ClientApp, jwks: str) -> ClientApp:
    """Replace a client's JWK set (checked: public RS384/ES384 keys with kids). Tokens already issued stay valid
    until they expire; new assertions must be signed with a key of the new set."""
    _changeable(client)
    client.jwks = parse_jwks(jwks)
    write_account(session, _account(session, client), action="client.keys_set", actor=actor)
    return client


def set_scopes(
    *, session: Session, actor: Actor | None, client: ClientApp, scopes: tuple[str, ...] | list[str] | str
) -> ClientApp:
    """Replace the system scopes a client may be granted; its live tokens end (they carry the old scopes)."""
    _changeable(client)
    client.scopes = parse_scopes(scopes)
    revoke_tokens(session=session, account_id=client.account_id)
    write_account(session, _account(session, client), action="client.scopes_set", actor=actor)
    return client


def deactivate(*, session: Session, actor: Actor | None, client: ClientApp) -> ClientApp:
    """Deactivate a client application and its account: its tokens end at once and no new one is issued."""
    if not client.active:
        return client
    account = _account(session, client)
    client.active = False
    account.active, account.deactivated_at = False, clock.now()
    revoke_tokens(session=session, account_id=account.id)
    write_account(session, account, action="client.deactivated", actor=actor)
    return client
