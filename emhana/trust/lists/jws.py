"""Signed JSON lists as RFC 7515 flattened JWS (ES256, raw r||s) signed by the scheme CA key (§6.4)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from emhana.kernel.errors import TrustListInvalid
from emhana.trust.keys.es256 import P256_ORDER, sign_es256

MAX_DOCUMENT = 16 * 1024 * 1024


def b64url(data: bytes) -> str:
    """Return unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Decode unpadded base64url strictly; raise ValueError."""
    if not isinstance(text, str) or "=" in text or not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(value: Any) -> bytes:
    """Return compact, key-sorted UTF-8 JSON (what the lists sign)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def strict_json(data: bytes) -> Any:
    """Parse JSON refusing duplicate keys and non-finite numbers; raise ValueError."""

    def no_constant(name: str) -> Any:
        raise ValueError(f"non-finite number {name}")

    return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=no_constant)


def sign(payload: dict[str, Any], key: ec.EllipticCurvePrivateKey, *, typ: str, kid: str) -> dict[str, str]:
    """Return the flattened JWS of a JSON payload, protected header {alg: ES256, typ, kid}."""
    header = b64url(canonical_json({"alg": "ES256", "typ": typ, "kid": kid}))
    body = b64url(canonical_json(payload))
    signature = sign_es256(key, f"{header}.{body}".encode("ascii"))
    return {"protected": header, "payload": body, "signature": b64url(signature)}


def verify(document: bytes, key: ec.EllipticCurvePublicKey, *, typ: str, kind: str) -> Any:
    """Return the payload of a flattened JWS after checking alg, typ and the ES256 signature; raise TrustListInvalid."""

    def bad(reason: str) -> TrustListInvalid:
        return TrustListInvalid(kind=kind, reason=reason)

    if len(document) > MAX_DOCUMENT:
        raise bad("the file is too large")
    try:
        outer = strict_json(document)
        header = strict_json(unb64url(outer["protected"]))
        signature = unb64url(outer["signature"])
        signed = f"{outer['protected']}.{outer['payload']}".encode("ascii")
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise bad("not a flattened JWS") from None
    if not isinstance(header, dict) or header.get("alg") != "ES256" or header.get("typ") != typ or "crit" in header:
        raise bad(f"the header must be alg ES256 and typ {typ}")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if len(signature) != 64 or not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
        raise bad("the signature is not a raw 64-byte ES256 signature")
    try:
        key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise bad("the signature does not verify with the scheme CA key") from None
    try:
        return strict_json(unb64url(outer["payload"]))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise bad("the payload is not JSON") from None
