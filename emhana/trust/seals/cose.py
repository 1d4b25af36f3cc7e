"""COSE_Sign1 (RFC 9052) built and checked with cbor2 + cryptography: ES256 with raw r||s, PS256 for HC1.

Why not pycose: it signs with pure-Python ECDSA (over 10× slower, with an open timing issue) and cannot
decode COSE with cbor2 6 (pycose#141), so the structure is assembled and parsed here and the signature math
is `cryptography`'s.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from emhana.kernel.errors import SealMalformed
from emhana.trust.keys.es256 import KID_LENGTH, P256_ORDER, sign_es256

ALG_ES256 = -7
ALG_PS256 = -37
HDR_ALG = 1
HDR_CRIT = 2
HDR_KID = 4
TAG_SIGN1 = 18
TAG_CWT = 61
ES256_SIGNATURE_LENGTH = 64
MAX_CBOR_DEPTH = 16
# The protected header of every KZMB1 seal, {1: -7, 4: h'<8-byte kid>'}, has exactly one encoding (map of 2, key 1,
# -7, key 4, a byte string of 8): those 13 bytes are read directly, to what loads_strict would return for them.
_ES256_KID8_HEAD = b"\xa2\x01\x26\x04\x48"
_ES256_KID8_LENGTH = len(_ES256_KID8_HEAD) + 8

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
# One ECDSA-with-SHA-256 parameter object for every verification (it holds no state; building one per call cost
# a measurable share of a seal check, issue 18).
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed COSE_Sign1: the exact protected bytes (they are signed), effective alg and kid, payload, signature."""

    protected: bytes
    alg: int
    kid: bytes | None
    kid_protected: bool
    payload: bytes
    signature: bytes


def loads_strict(data: bytes, *, allow_indefinite: bool = False) -> Any:
    """Decode exactly one CBOR item: no duplicate keys, definite lengths only, no trailing bytes (§6.6).

    ``allow_indefinite`` is for HC1 payloads only: EU DCC decoders are lenient (§1.2) and CBOR allows indefinite
    lengths; KZMB1 never uses it."""
    fp = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(
            fp, allow_duplicate_keys=False, allow_indefinite=allow_indefinite, max_depth=MAX_CBOR_DEPTH
        ).decode()
    # Hostile bytes reach cbor2's tag decoders too (datetimes, bignums, sets): any failure is MALFORMED.
    except Exception as exc:
        raise SealMalformed(reason="cbor_error") from exc
    if fp.tell() != len(data):
        raise SealMalformed(reason="cbor_trailing_bytes")
    return value


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """Return the bytes a COSE_Sign1 signs: CBOR(["Signature1", protected, h'', payload]) (RFC 9052 §4.4)."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def assemble(
    protected: bytes,
    unprotected: Mapping[int, Any],
    payload: bytes,
    signature: bytes,
    *,
    tag: bool = True,
    cwt_tag: bool = False,
) -> bytes:
    """Return the CBOR of a COSE_Sign1 from its parts (the corpus uses it for deliberately broken variants)."""
    message: Any = [protected, dict(unprotected), payload, signature]
    if tag:
        message = cbor2.CBORTag(TAG_SIGN1, message)
    if cwt_tag:
        message = cbor2.CBORTag(TAG_CWT, message)
    return cbor2.dumps(message)


def encode_sign1(payload: bytes, key: ec.EllipticCurvePrivateKey, kid: bytes, *, kid_protected: bool = True) -> bytes:
    """Return a tagged ES256 COSE_Sign1 over payload with protected {1: -7, 4: kid} and empty unprotected (§6.2)."""
    protected = {HDR_ALG: ALG_ES256, HDR_KID: kid} if kid_protected else {HDR_ALG: ALG_ES256}
    protected_bytes = cbor2.dumps(protected)
    signature = sign_es256(key, sig_structure(protected_bytes, payload))
    return assemble(protected_bytes, {} if kid_protected else {HDR_KID: kid}, payload, signature)


def _unwrap(value: Any, *, require_tag: bool) -> Any:
    if isinstance(value, cbor2.CBORTag) and value.tag == TAG_CWT:
        value = value.value  # docs/credentials.md §1.3: "double tagged" CWT(COSE_Sign1) must be accepted (CO28).
    if isinstance(value, cbor2.CBORTag):
        if value.tag != TAG_SIGN1:
            raise SealMalformed(reason="not_cose_sign1")
        return value.value
    if require_tag:
        raise SealMalformed(reason="not_cose_sign1")
    return value


def decode_sign1(data: bytes, *, require_tag: bool = True, kid_length: int | None = KID_LENGTH) -> Sign1:
    """Parse a COSE_Sign1 strictly; raise SealMalformed for every structural defect listed in §6.6 step 1."""
    parts = _unwrap(loads_strict(data), require_tag=require_tag)
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise SealMalformed(reason="not_cose_sign1")
    protected_bytes, unprotected, payload, signature = parts
    if not (
        isinstance(protected_bytes, bytes)
        and (type(unprotected) is dict or isinstance(unprotected, Mapping))
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise SealMalformed(reason="not_cose_sign1")
    if len(protected_bytes) == _ES256_KID8_LENGTH and protected_bytes.startswith(_ES256_KID8_HEAD):
        protected: Any = {HDR_ALG: ALG_ES256, HDR_KID: protected_bytes[len(_ES256_KID8_HEAD) :]}
    else:
        protected = loads_strict(protected_bytes) if protected_bytes else {}
    if type(protected) is not dict and not isinstance(protected, Mapping):
        raise SealMalformed(reason="protected_header_not_map")
    alg = protected.get(HDR_ALG)
    if type(alg) is not int:
        raise SealMalformed(reason="missing_alg")
    if HDR_CRIT in protected or HDR_CRIT in unprotected:
        raise SealMalformed(reason="unknown_critical_header")
    # docs/credentials.md §1.3: the protected kid wins; the unprotected one is only a fallback (CO18–CO23).
    kid_protected = HDR_KID in protected
    kid = protected.get(HDR_KID) if kid_protected else unprotected.get(HDR_KID)
    if kid is not None and not isinstance(kid, bytes):
        raise SealMalformed(reason="bad_kid")
    if kid_length is not None and (kid is None or len(kid) != kid_length):
        raise SealMalformed(reason="bad_kid")
    if alg == ALG_ES256 and len(signature) != ES256_SIGNATURE_LENGTH:
        raise SealMalformed(reason="signature_not_raw_64_bytes")
    return Sign1(protected_bytes, alg, kid, kid_protected, payload, signature)


def verify_signature(message: Sign1, key: PublicKey) -> bool:
    """Tell whether the signature holds for this key; an alg/key mismatch or an unsupported alg is False."""
    data = sig_structure(message.protected, message.payload)
    try:
        if message.alg == ALG_ES256 and isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1) or len(message.signature) != ES256_SIGNATURE_LENGTH:
                return False
            r = int.from_bytes(message.signature[:32], "big")
            s = int.from_bytes(message.signature[32:], "big")
            if not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
                return False
            key.verify(encode_dss_signature(r, s), data, _ECDSA_SHA256)
            return True
        if message.alg == ALG_PS256 and isinstance(key, rsa.RSAPublicKey):
            key.verify(
                message.signature,
                data,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256(),
            )
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def signature_r(message: Sign1) -> bytes:
    """Return the part of the signature that revocation hashes: r for ES256 (s is malleable), all of it otherwise."""
    return message.signature[:32] if message.alg == ALG_ES256 else message.signature
