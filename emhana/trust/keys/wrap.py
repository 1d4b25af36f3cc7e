"""Private keys of the scheme CA and the document signers, encrypted at rest (docs/credentials.md §6.1).

A key is stored as AES-256-GCM over its PKCS#8 DER, with a 12-byte random nonce in front and the key's kid
as associated data (a ciphertext moved to another row does not open). The AES key is derived with HKDF-SHA256
from ``EMHANA_SECRET_KEY`` (wrap id "s1").

DEMO FALLBACK: when ``EMHANA_SECRET_KEY`` is empty, the AES key is derived from the public constant
``DEMO_SECRET`` (wrap id "demo"). Such keys are protected by nothing, so outside demo mode nothing makes
them: the server refuses to start without the secret (web/security.py) and every `emhana trust` key command
refuses to run (cli/trust.py). A stored key remembers its wrap id, so a key wrapped in demo mode still opens once a
secret is set (rotate then to get keys wrapped with the secret), and a key wrapped with a secret that has
changed since fails with a clear CertificateInvalid instead of a wrong key.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from emhana.kernel.errors import CertificateInvalid

DEMO_SECRET = "emhana DEMO ONLY seal-key wrapping secret (public, protects nothing)"
WRAP_SECRET = "s1"
WRAP_DEMO = "demo"
NONCE = 12


def _derive(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"emhana-trust-keys", info=b"emhana seal private key wrapping v1"
    ).derive(secret.encode("utf-8"))


def wrap_id(secret: str) -> str:
    """Return the wrap id new keys get under this secret ("s1", or "demo" when the secret is empty)."""
    return WRAP_SECRET if secret else WRAP_DEMO


def _aes(wrap: str, secret: str) -> AESGCM:
    if wrap == WRAP_DEMO:
        return AESGCM(_derive(DEMO_SECRET))
    if wrap == WRAP_SECRET and secret:
        return AESGCM(_derive(secret))
    raise CertificateInvalid(reason="the signing key is wrapped with EMHANA_SECRET_KEY, which is not set")


def encrypt_key(key: ec.EllipticCurvePrivateKey, *, secret: str, kid: bytes) -> tuple[str, bytes]:
    """Return the wrap id and the ciphertext of a private key."""
    wrap = wrap_id(secret)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    nonce = secrets.token_bytes(NONCE)
    return wrap, nonce + _aes(wrap, secret).encrypt(nonce, der, b"emhana-key:" + kid)


def decrypt_key(blob: bytes, *, wrap: str, secret: str, kid: bytes) -> ec.EllipticCurvePrivateKey:
    """Return the private key of a ciphertext; raise CertificateInvalid when the secret does not open it."""
    try:
        der = _aes(wrap, secret).decrypt(blob[:NONCE], blob[NONCE:], b"emhana-key:" + kid)
    except InvalidTag:
        raise CertificateInvalid(reason="the signing key does not open with this EMHANA_SECRET_KEY") from None
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateInvalid(reason="a seal key must be ECDSA P-256 (ES256)")
    return key
