"""MIS client applications in tests (issue 17): key pairs and their JWK sets, and a client registered for an
organization through the service (audited as any)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts import clients


def _b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


@dataclass(frozen=True)
class KeyPair:
    """A client's key: its private PEM and the public JWK to register."""

    private_pem: bytes
    jwk: dict[str, Any]

    def jwks(self) -> str:
        return json.dumps({"keys": [self.jwk]})

    def private_jwk(self) -> dict[str, Any]:
        """The JWK with its private part (``d``): what must never be registered."""
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return {**self.jwk, "d": _b64(key.private_numbers().private_value, 48)}
        assert isinstance(key, rsa.RSAPrivateKey)
        return {**self.jwk, "d": _b64(key.private_numbers().d, key.key_size // 8)}


def ec_key(kid: str = "k1", alg: str = "ES384") -> KeyPair:
    """An EC P-384 key pair (ES384)."""
    key = ec.generate_private_key(ec.SECP384R1())
    nums = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-384", "x": _b64(nums.x, 48), "y": _b64(nums.y, 48), "kid": kid, "alg": alg}
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return KeyPair(pem, jwk)


def rsa_key(kid: str = "r1", bits: int = 2048) -> KeyPair:
    """An RSA key pair (RS384)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    nums = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": _b64(nums.n, bits // 8), "e": _b64(nums.e, 3), "kid": kid, "alg": "RS384"}
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return KeyPair(pem, jwk)


def add_client(
    sessions: sessionmaker[Session],
    entity_id: int,
    *,
    name: str = "Test MIS",
    client_id: str | None = None,
    scopes: tuple[str, ...] = clients.PUSH_AND_READ,
    key: KeyPair | None = None,
) -> str:
    """Register a client application of an organization from the command line's side; return its client id."""
    with sessions.begin() as s:
        client = clients.register(
            session=s,
            actor=None,
            new=clients.NewClient(
                name=name,
                entity_id=entity_id,
                jwks=(key or ec_key()).jwks(),
                scopes=scopes,
                client_id=client_id,
            ),
        )
        return client.client_id
