"""COSE_Sign1 (RFC 9052) built and checked with cbor2 + cryptography: ES256 with raw r||s, PS256 for HC1.

Why not pycose: it signs with pure-Python ECDSA (over 10× slower, with an open timing issue) and cannot
decode COSE with cbor2 6 (pycose#141), so the structure is assembled and parsed here and the signature math
is `cryptography`'s.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

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
# A KZMB1 message as our issuer writes it: tag 18, an array of 4, that protected header as a byte string of 13,
# an empty unprotected map, the payload, and a 64-byte signature. Such bytes are read by offsets (`_read_kzmb1`);
# any other layout takes the general, strict path.
_KZMB1_HEAD = b"\xd2\x84\x4d" + _ES256_KID8_HEAD
_KZMB1_KID = slice(len(_KZMB1_HEAD), len(_KZMB1_HEAD) + 8)
_KZMB1_PROTECTED = slice(3, _KZMB1_KID.stop)
_KZMB1_PAYLOAD_HEAD = _KZMB1_KID.stop + 1  # after the empty map A0
_SIGNATURE_HEAD = b"\x58\x40"  # a byte string of 64
# The shortest message of that layout: heads, an empty payload, the signature's head and its 64 bytes.
_KZMB1_MIN = _KZMB1_PAYLOAD_HEAD + 1 + len(_SIGNATURE_HEAD) + ES256_SIGNATURE_LENGTH
# CBOR(["Signature1", ...]) starts with an array of 4 and the text "Signature1" (RFC 9052 §4.4).
_SIG1_HEAD = b"\x84\x6aSignature1"
_P256_ORDER_BYTES = P256_ORDER.to_bytes(32, "big")
_ZERO32 = bytes(32)

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
        value = cbor2.load(fp, allow_duplicate_keys=False, allow_indefinite=allow_indefinite, max_depth=MAX_CBOR_DEPTH)
    # Hostile bytes reach cbor2's tag decoders too (datetimes, bignums, sets): any failure is MALFORMED.
    except Exception as exc:
        raise SealMalformed(reason="cbor_error") from exc
    if fp.tell() != len(data):
        raise SealMalformed(reason="cbor_trailing_bytes")
    return value


def _bstr_head(length: int) -> bytes:
    """Return the shortest CBOR head of a byte string of this length (RFC 8949 §3, major type 2)."""
    if length < 24:
        return bytes((0x40 + length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    if length < 0x100000000:
        return b"\x5a" + length.to_bytes(4, "big")
    return b"\x5b" + length.to_bytes(8, "big")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """Return the bytes a COSE_Sign1 signs: CBOR(["Signature1", protected, h'', payload]) (RFC 9052 §4.4).

    Written by hand, byte for byte what ``cbor2.dumps(["Signature1", protected, b"", payload])`` writes (tested),
    without building and encoding a list on every verification (issue 18)."""
    return b"".join((_SIG1_HEAD, _bstr_head(len(protected)), protected, b"\x40", _bstr_head(len(payload)), payload))


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


def _read_kzmb1(data: bytes) -> Sign1 | None:
    """Return the message of bytes laid out exactly as our issuer writes a KZMB1 seal, else None.

    For such bytes the strict decoder below returns this very Sign1 (a tagged array of four, protected
    {1: -7, 4: kid}, no unprotected header, a 64-byte signature, nothing after it); reading them by offsets saves
    a CBOR decode of the message on every verification (issue 18). Anything else returns None and is parsed in
    full."""
    if (
        type(data) is not bytes  # slices of a bytearray or a memoryview would not be bytes, as the decoder's are
        or len(data) < _KZMB1_MIN
        or not data.startswith(_KZMB1_HEAD)
        or data[_KZMB1_PAYLOAD_HEAD - 1] != 0xA0
    ):
        return None
    head = data[_KZMB1_PAYLOAD_HEAD]
    start = _KZMB1_PAYLOAD_HEAD + 1
    if 0x40 <= head < 0x58:
        length = head - 0x40
    elif head == 0x58:
        length, start = data[start], start + 1
    elif head == 0x59:
        length, start = int.from_bytes(data[start : start + 2], "big"), start + 2
    else:
        return None
    end = start + length
    if len(data) != end + len(_SIGNATURE_HEAD) + ES256_SIGNATURE_LENGTH or data[end : end + 2] != _SIGNATURE_HEAD:
        return None
    return Sign1(data[_KZMB1_PROTECTED], ALG_ES256, data[_KZMB1_KID], True, data[start:end], data[end + 2 :])


def decode_sign1(data: bytes, *, require_tag: bool = True, kid_length: int | None = KID_LENGTH) -> Sign1:
    """Parse a COSE_Sign1 strictly; raise SealMalformed for every structural defect listed in §6.6 step 1."""
    if kid_length is None or kid_length == KID_LENGTH:
        fast = _read_kzmb1(data)
        if fast is not None:
            return fast
    return decode_sign1_in_full(data, require_tag=require_tag, kid_length=kid_length)


def decode_sign1_in_full(data: bytes, *, require_tag: bool = True, kid_length: int | None = KID_LENGTH) -> Sign1:
    """Parse a COSE_Sign1 with the CBOR decoder, whatever its layout (decode_sign1 without the KZMB1 shortcut)."""
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


def _der_integer(value: bytes) -> bytes:
    """Return the DER INTEGER of a positive big-endian number (RFC 9052 §8.1's r or s; never zero here)."""
    first = value[0]
    if first >= 0x80:  # the high bit would read as a sign: a zero byte goes first
        return b"\x02" + bytes((len(value) + 1,)) + b"\x00" + value
    if first:
        return b"\x02" + bytes((len(value),)) + value
    value = value.lstrip(b"\x00")  # DER is minimal: no leading zero bytes but the one a high bit needs
    if value[0] >= 0x80:
        value = b"\x00" + value
    return b"\x02" + bytes((len(value),)) + value


def der_signature(signature: bytes) -> bytes:
    """Return the DER ECDSA-Sig-Value of a raw ES256 r||s with 0 < r, s < n (what `cryptography` verifies).

    Byte for byte `encode_dss_signature(r, s)` (tested), from the bytes: no integers are built (issue 18). When
    neither r nor s starts with a zero byte (255 times in 256 each) the heads around them are fixed by their high
    bits alone and come from a table."""
    r0, s0 = signature[0], signature[32]
    if r0 and s0:
        before_r, before_s = _DER_HEADS[(r0 >> 7) << 1 | s0 >> 7]
        return b"".join((before_r, signature[:32], before_s, signature[32:]))
    r = _der_integer(signature[:32])
    s = _der_integer(signature[32:])
    return b"\x30" + bytes((len(r) + len(s),)) + r + s


def _der_heads(r_high: bool, s_high: bool) -> tuple[bytes, bytes]:
    """Return the DER bytes before r and before s, both 32 bytes long with a non-zero first byte."""
    r_head = b"\x02\x21\x00" if r_high else b"\x02\x20"
    s_head = b"\x02\x21\x00" if s_high else b"\x02\x20"
    return b"\x30" + bytes((len(r_head) + len(s_head) + 64,)) + r_head, s_head


# Indexed by (r's high bit, s's high bit) as 2r + s.
_DER_HEADS = tuple(_der_heads(bool(i & 2), bool(i & 1)) for i in range(4))


def _is_ec_key(key: object) -> TypeGuard[ec.EllipticCurvePublicKey]:
    """Tell whether a key is an EC public key; the one concrete class of `cryptography` is known at a glance."""
    kind = type(key)
    known = _EC_KEY_TYPES.get(kind)
    if known is None:
        known = _EC_KEY_TYPES[kind] = isinstance(key, ec.EllipticCurvePublicKey)
    return known


# Concrete key classes seen, and whether each is an EC public key: `isinstance` against the abstract class goes
# through the ABC machinery on every call, a measurable share of a seal check (issue 18). Only classes are kept.
_EC_KEY_TYPES: dict[type, bool] = {}


def verify_signature(message: Sign1, key: PublicKey) -> bool:
    """Tell whether the signature holds for this key; an alg/key mismatch or an unsupported alg is False."""
    data = sig_structure(message.protected, message.payload)
    try:
        if message.alg == ALG_ES256 and _is_ec_key(key):
            signature = message.signature
            if not isinstance(key.curve, ec.SECP256R1) or len(signature) != ES256_SIGNATURE_LENGTH:
                return False
            # 0 < r, s < n, compared as 32-byte big-endian strings (same length: bytes order is number order).
            r, s = signature[:32], signature[32:]
            if not (_ZERO32 < r < _P256_ORDER_BYTES and _ZERO32 < s < _P256_ORDER_BYTES):
                return False
            key.verify(der_signature(signature), data, _ECDSA_SHA256)
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
