"""COSE_Sign1: ES256 with raw r||s, strict parsing, protected kid precedence, PS256 for HC1."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from emhana.kernel.errors import SealMalformed
from emhana.trust.keys import es256
from emhana.trust.seals import cose

KEY = ec.generate_private_key(ec.SECP256R1())
KID = b"12345678"


def test_round_trip_and_layout() -> None:
    message = cose.encode_sign1(b"payload", KEY, KID)
    tag = cbor2.loads(message)
    assert tag.tag == cose.TAG_SIGN1
    protected, unprotected, payload, signature = tag.value
    assert cbor2.loads(protected) == {1: -7, 4: KID} and unprotected == {} and payload == b"payload"
    assert len(signature) == 64
    parsed = cose.decode_sign1(message)
    assert (parsed.alg, parsed.kid, parsed.kid_protected) == (cose.ALG_ES256, KID, True)
    assert cose.verify_signature(parsed, KEY.public_key())
    assert not cose.verify_signature(parsed, ec.generate_private_key(ec.SECP256R1()).public_key())


def test_signature_structure_is_rfc_9052() -> None:
    assert cose.sig_structure(b"\xa0", b"x") == cbor2.dumps(["Signature1", b"\xa0", b"", b"x"])


def test_der_and_raw_signatures() -> None:
    raw = es256.sign_es256(KEY, b"data")
    der = es256.raw_to_der(raw)
    assert der[0] == 0x30 and len(der) != 64
    message = cose.assemble(cbor2.dumps({1: -7, 4: KID}), {}, b"p", der)
    with pytest.raises(SealMalformed) as exc:
        cose.decode_sign1(message)
    assert exc.value.params["reason"] == "signature_not_raw_64_bytes"


def _message(protected: object, unprotected: object = None, *, signature: bytes = bytes(64), tag: int = 18) -> bytes:
    header = protected if isinstance(protected, bytes) else cbor2.dumps(protected)
    return cbor2.dumps(cbor2.CBORTag(tag, [header, unprotected or {}, b"p", signature]))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "cbor_error"),
        (b"\xd2", "cbor_error"),
        (cbor2.dumps([1, 2, 3, 4]), "not_cose_sign1"),
        (_message({1: -7, 4: KID}, tag=98), "not_cose_sign1"),
        (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"p"])), "not_cose_sign1"),
        (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, None, bytes(64)])), "not_cose_sign1"),
        (_message(cbor2.dumps([1])), "protected_header_not_map"),
        (_message({4: KID}), "missing_alg"),
        (_message({1: "ES256", 4: KID}), "missing_alg"),
        (_message({1: -7, 4: KID, 2: [4]}), "unknown_critical_header"),
        (_message({1: -7}), "bad_kid"),
        (_message({1: -7, 4: b"1234567"}), "bad_kid"),
        (_message({1: -7, 4: "12345678"}), "bad_kid"),
        (_message({1: -7, 4: KID}, signature=bytes(63)), "signature_not_raw_64_bytes"),
        (_message({1: -7, 4: KID}) + b"\x00", "cbor_trailing_bytes"),
    ],
)
def test_structural_defects_are_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(SealMalformed) as exc:
        cose.decode_sign1(data)
    assert exc.value.params["reason"] == reason


def test_protected_kid_wins_over_unprotected() -> None:
    parsed = cose.decode_sign1(_message({1: -7, 4: KID}, {4: b"87654321"}))
    assert parsed.kid == KID and parsed.kid_protected
    fallback = cose.decode_sign1(_message({1: -7}, {4: b"87654321"}))
    assert fallback.kid == b"87654321" and not fallback.kid_protected


def test_double_tag_accepted_untagged_only_on_request() -> None:
    inner = cbor2.loads(cose.encode_sign1(b"x", KEY, KID))
    assert cose.decode_sign1(cbor2.dumps(cbor2.CBORTag(61, inner))).payload == b"x"
    untagged = cbor2.dumps(list(inner.value))
    with pytest.raises(SealMalformed):
        cose.decode_sign1(untagged)
    assert cose.decode_sign1(untagged, require_tag=False).payload == b"x"


def test_out_of_range_signature_values_do_not_verify() -> None:
    protected = cbor2.dumps({1: -7, 4: KID})
    for signature in (bytes(64), b"\xff" * 64):
        parsed = cose.decode_sign1(cose.assemble(protected, {}, b"p", signature))
        assert not cose.verify_signature(parsed, KEY.public_key())


def test_ps256_and_alg_key_mismatch() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    protected = cbor2.dumps({1: cose.ALG_PS256, 4: KID})
    signature = rsa_key.sign(
        cose.sig_structure(protected, b"p"),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    parsed = cose.decode_sign1(cose.assemble(protected, {}, b"p", signature))
    assert cose.verify_signature(parsed, rsa_key.public_key())
    assert not cose.verify_signature(parsed, KEY.public_key())
    es = cose.decode_sign1(cose.encode_sign1(b"p", KEY, KID))
    assert not cose.verify_signature(es, rsa_key.public_key())
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert not cose.verify_signature(es, p384.public_key())


def test_signature_r_is_first_half_for_es256() -> None:
    parsed = cose.decode_sign1(cose.encode_sign1(b"p", KEY, KID))
    assert cose.signature_r(parsed) == parsed.signature[:32]


def test_kid_is_sha256_prefix_of_certificate_der() -> None:
    import hashlib

    assert es256.kid_of(b"der") == hashlib.sha256(b"der").digest()[:8]
