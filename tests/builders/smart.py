"""System clients in tests (SMART Backend Services, issue 17): key pairs, a client application written straight
into the tables (its registration is emhana.accounts.clients'), and client assertions signed as a client would,
good or broken on purpose."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy.orm import Session

from emhana.accounts.models import ClientApp
from emhana.accounts.roles import Role
from emhana.accounts.service import create_account

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
READ_ALL = "system/*.rs"
PUSH = "system/Observation.c system/DiagnosticReport.c system/Immunization.c system/Condition.c system/Provenance.c"

_serial = itertools.count(1)


@dataclass(frozen=True)
class Key:
    """A client's key pair: the private key (PEM), its kid and algorithm, and the public JWK."""

    kid: str
    alg: str
    private_pem: bytes
    public_jwk: dict[str, Any]

    def jwks(self) -> dict[str, Any]:
        """Return the JWK set that registers this key (public half only)."""
        return {"keys": [self.public_jwk]}

    def private_jwk(self) -> dict[str, Any]:
        """Return the key as a JWK with its private parts (what a registry must never use to verify)."""
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        if isinstance(private, rsa.RSAPrivateKey):
            return {**RSAAlgorithm.to_jwk(private, as_dict=True), "kid": self.kid, "alg": self.alg}
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        return {**ECAlgorithm.to_jwk(private, as_dict=True), "kid": self.kid, "alg": self.alg}


@cache
def make_key(kid: str = "k1", alg: str = "RS384") -> Key:
    """Return a key pair (cached by kid and algorithm: RSA keys take a moment to make)."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
        public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "ES256":  # a curve the registry does not accept
        private = ec.generate_private_key(ec.SECP256R1())
        public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Key(kid=kid, alg=alg, private_pem=pem, public_jwk={**public, "kid": kid, "alg": alg, "use": "sig"})


@dataclass(frozen=True)
class Client:
    """A registered client application: its client_id, account and organization."""

    client_id: str
    account_id: int
    entity_id: int


def register_client(
    session: Session,
    *,
    entity_id: int,
    scopes: str,
    jwks: dict[str, Any],
    active: bool = True,
    client_id: str | None = None,
) -> Client:
    """Write a client application bound to an organization, with its own mis_client account."""
    n = next(_serial)
    client_id = client_id or f"mis-{n}-{uuid.uuid4().hex[:8]}"
    account = create_account(
        session=session,
        username=f"client-{client_id}",
        password=None,
        role=Role.MIS_CLIENT,
        display_name=f"Client application {n}",
        entity_id=entity_id,
    )
    session.flush()
    session.add(
        ClientApp(
            client_id=client_id,
            name=f"MIS {n}",
            account_id=account.id,
            entity_id=entity_id,
            jwks=json.dumps(jwks),
            scopes=scopes,
            active=active,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    session.flush()
    return Client(client_id=client_id, account_id=account.id, entity_id=entity_id)


def sign(
    key: Key,
    *,
    client_id: str,
    aud: str,
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = dt.timedelta(minutes=4),
    jti: str | None = None,
    alg: str | None = None,
    kid: str | None = "",
    **claims: Any,
) -> str:
    """Return a client assertion signed with a key (``kid=""``: the key's own kid; None: no kid header); extra
    claims override the standard ones (``iss=...``, ``sub=...``)."""
    now = now or dt.datetime.now(dt.UTC)
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": jti or uuid.uuid4().hex,
        "exp": int((now + lifetime).timestamp()),
        **claims,
    }
    headers: dict[str, Any] = {"typ": "JWT"}
    if kid is not None:
        headers["kid"] = kid or key.kid
    private = serialization.load_pem_private_key(key.private_pem, password=None)
    return jwt.encode(body, private, algorithm=alg or key.alg, headers=headers)  # type: ignore[arg-type]


def form(assertion: str, scope: str | None = READ_ALL, **extra: str) -> dict[str, str]:
    """Return the token request's form for an assertion."""
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    if scope is not None:
        data["scope"] = scope
    return {**data, **extra}


def scoped_headers(session: Session, *, entity_id: int, scopes: str) -> dict[str, str]:
    """Register a client application of an organization and return the Authorization header of a token that
    carries the scopes (issued as the token endpoint would, without the assertion round trip)."""
    from emhana.accounts.models import Account
    from emhana.accounts.service import actor_of, issue_token

    client = register_client(session, entity_id=entity_id, scopes=scopes, jwks=make_key().jwks())
    account = session.get(Account, client.account_id)
    assert account is not None
    token = issue_token(
        session=session, actor=actor_of(account), ttl=dt.timedelta(days=3650), scopes=frozenset(scopes.split())
    )
    return {"Authorization": f"Bearer {token}"}
