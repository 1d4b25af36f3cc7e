"""ES256 keys as the seals and the lists use them: the kid of a certificate and raw r||s signatures on P-256."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

KID_LENGTH = 8
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def kid_of(certificate_der: bytes) -> bytes:
    """Return the COSE kid of a signer certificate: the first 8 bytes of SHA-256 over its DER.

    docs/credentials.md §1.3.
    """
    return hashlib.sha256(certificate_der).digest()[:KID_LENGTH]


def sign_es256(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Return an ES256 signature of data as raw r||s, 64 bytes (never DER, docs/credentials.md §6.8)."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def raw_to_der(signature: bytes) -> bytes:
    """Return the DER form of a raw 64-byte ECDSA signature (what a wrong encoder would put in COSE)."""
    return encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
