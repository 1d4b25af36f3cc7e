"""SMART Backend Services for an MIS, in a few lines: make a key pair, and get a bearer token with a signed client
assertion (RFC 7523). Depends only on PyJWT (with cryptography) and httpx; nothing of emhana's code.

    from backend_auth import keypair, token
    private_pem, jwks = keypair("mis-key-1")        # register ``jwks`` (public only) with the client application
    bearer = token("https://emhana.example.kz/api/v1/oauth/token", "CLIENT-ID", private_pem, "mis-key-1",
                   "system/Observation.c system/Patient.rs")

The token endpoint is the ``token_endpoint`` of ``<FHIR base>/.well-known/smart-configuration``. A token lives
five minutes: ask for a new one (a new assertion, a new ``jti``) when it expires. Run as a script to print a key
pair: ``python examples/backend_auth.py mis-key-1 [RS384|ES384]`` (the private key on stdout, the JWK set on
stderr).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def keypair(kid: str, alg: str = "RS384") -> tuple[bytes, dict[str, Any]]:
    """Return a new private key (PEM, PKCS#8, unencrypted: keep it secret) and the JWK set of its public half,
    with ``kid`` and ``alg`` (RS384: RSA 3072 bits; ES384: EC P-384), ready to register."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if alg == "RS384":
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        public = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
        public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise ValueError("alg must be RS384 or ES384")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, {"keys": [{**public, "kid": kid, "alg": alg, "use": "sig"}]}


def assertion(token_url: str, client_id: str, key_pem: bytes, kid: str, *, lifetime_s: int = 240) -> str:
    """Return a client assertion: a JWT with iss = sub = client_id, aud = the token endpoint, a fresh jti and an
    exp a few minutes ahead (at most five), signed RS384 or ES384 according to the key."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    alg = "ES384" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS384"
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "jti": str(uuid.uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(seconds=lifetime_s)).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})  # type: ignore[arg-type]


def token(token_url: str, client_id: str, key_pem: bytes, kid: str, scopes: str) -> str:
    """Return a bearer token for the system scopes asked (space-separated, e.g. ``system/Observation.c``); the
    server may grant fewer (its answer's ``scope``). A refusal raises RuntimeError with the server's answer
    (``error``, ``error_description``, and emhana's ``code``)."""
    answer = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(token_url, client_id, key_pem, kid),
            "scope": scopes,
        },
        headers={"Accept": "application/json"},
        timeout=30,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"token refused: {answer.status_code} {answer.text[:500]}")
    return str(answer.json()["access_token"])


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: backend_auth.py KID [RS384|ES384]")
    pem, jwks = keypair(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "RS384")
    sys.stdout.write(pem.decode())
    sys.stderr.write(json.dumps(jwks, indent=2) + "\n")
