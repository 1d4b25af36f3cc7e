"""HC1 (EU DCC) verification on the shared COSE/base45/zlib layers, with our own DSCs."""

from __future__ import annotations

import base64
import json

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from emhana.devtools.corpus.hc1 import CLOCK, DAY, claims, dcc, dsc, sign, text_of
from emhana.kernel.errors import SealMalformed, TrustListInvalid
from emhana.trust.keys import pki
from emhana.trust.seals import cose, cwt, hc1
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.verifier import Outcome, verify
from tests.builders.seals import make_scheme, worker


@pytest.fixture(scope="module")
def signer() -> pki.Issued:
    return dsc("EC-Me")


def test_valid_dcc_shows_name_birth_date_and_type(signer: pki.Issued) -> None:
    text = text_of(sign(signer, claims(dcc("v"))))
    result = hc1.verify_hc1(text, hc1.DscList.of([signer.certificate]), CLOCK)
    assert result.outcome is Outcome.VALID
    assert result.shown == {
        "name": "Aida Testova",
        "birth_date": "1990-01-01",
        "certificate_type": "vaccination",
        "issuer_country": "XX",
        "issued_at": "2026-02-28T09:00:00Z",
        "valid_until": "2026-05-30T09:00:00Z",
    }


def test_dsc_list_formats(signer: pki.Issued) -> None:
    der = base64.b64encode(signer.certificate.public_bytes(serialization.Encoding.DER)).decode()
    for doc in ([der], [{"kid": "x", "rawData": der}], {"certificates": [{"rawData": der}]}):
        dscs = hc1.load_dsc_list(json.dumps(doc).encode())
        assert [c.serial_number for cs in dscs.by_kid.values() for c in cs] == [signer.certificate.serial_number]
    for bad in (b"", b"{}", b"[1]", b'["!!"]', b'[{"rawData": 5}]', b'{"certificates": "x"}'):
        with pytest.raises(TrustListInvalid):
            hc1.load_dsc_list(bad)


def test_empty_list_means_unknown_issuer(signer: pki.Issued) -> None:
    result = hc1.verify_hc1(text_of(sign(signer, claims(dcc("t")))), hc1.DscList({}), CLOCK)
    assert result.outcome is Outcome.UNKNOWN_ISSUER


def test_claims_reading() -> None:
    with pytest.raises(SealMalformed):
        hc1.read_claims({4: 1, 6: 0, -260: {1: {"nam": {}, "v": [{}], "t": [{}]}}})
    with pytest.raises(SealMalformed):
        hc1.read_claims({4: "1", 6: 0, -260: {1: {"nam": {}, "v": [{}]}}})
    assert hc1.read_claims({4: 1.5, 6: 0.25, -260: {1: {"nam": {}, "v": [{}]}}}).exp == 1
    c = hc1.read_claims({4: 10, 6: 1, -260: {1: {"nam": {"fnt": "X<Y"}, "r": [{}]}}})
    assert (c.kind, c.name, c.iss, c.dob) == ("r", "X<Y", None, "")


def test_clock_must_be_aware(signer: pki.Issued) -> None:
    with pytest.raises(ValueError):
        hc1.verify_hc1("HC1:", hc1.DscList({}), CLOCK.replace(tzinfo=None))


# --- EU DCC verification as the specification reads (issue 14, item 9) -------------------------------------


def _signed_claims(signer: pki.Issued, body: dict[object, object]) -> str:
    return text_of(sign(signer, cbor2.dumps(body)))


def test_a_float_numeric_date_is_accepted_in_whole_seconds(signer: pki.Issued) -> None:
    iat, exp = (CLOCK - DAY).timestamp() + 0.75, (CLOCK + 90 * DAY).timestamp() + 0.5  # RFC 8392 §2 allows floats
    text = _signed_claims(signer, {1: "XX", 4: exp, 6: iat, -260: {1: dcc("v")}})
    result = hc1.verify_hc1(text, hc1.DscList.of([signer.certificate]), CLOCK)
    assert result.outcome is Outcome.VALID, result
    assert result.shown and result.shown["issued_at"] == "2026-02-28T09:00:00Z"
    assert result.shown["valid_until"] == "2026-05-30T09:00:00Z"
    late = hc1.verify_hc1(text, hc1.DscList.of([signer.certificate]), CLOCK + 91 * DAY)
    assert late.outcome is Outcome.EXPIRED
    for bad in (float("nan"), float("inf"), 1.0e12, -1.0, True, "1700000000"):
        broken = _signed_claims(signer, {4: bad, 6: iat, -260: {1: dcc("v")}})
        assert hc1.verify_hc1(broken, hc1.DscList.of([signer.certificate]), CLOCK).outcome is Outcome.MALFORMED


def test_kzmb1_still_takes_integer_seconds_only() -> None:
    """docs/credentials.md §6.6: KZMB1 dates are integer seconds; the HC1 leniency does not reach it."""
    scheme = make_scheme()
    iat = int((CLOCK - DAY).timestamp())
    claims = cwt.SealClaims(scheme.a.bin, iat, iat, iat + 100 * 86400, seal.new_cti(), worker())
    body = cbor2.loads(cwt.to_cbor(claims))
    assert verify(seal.build(claims, scheme.a).text, scheme.context, CLOCK).outcome is Outcome.VALID
    for key in (cwt.CLAIM_IAT, cwt.CLAIM_EXP, cwt.CLAIM_NBF):
        floated = {**body, key: float(body[key]) + 0.5}
        text = seal.encode_transport(cose.encode_sign1(cbor2.dumps(floated), scheme.a.key, scheme.a.kid))[2]
        result = verify(text, scheme.context, CLOCK)
        assert result.outcome is Outcome.MALFORMED and result.reason.endswith("_not_integer_seconds")  # type: ignore[union-attr]
        assert "signature" not in result.to_dict() and result.signature is None
    with pytest.raises(SealMalformed):
        cwt.numeric_date(1.5, "iat")
    assert cwt.numeric_date(1.5, "iat", fractional=True) == 1


FAMILIES = ("1.3.6.1.4.1.1847.2021.1.", "1.3.6.1.4.1.0.1847.2021.1.")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("number", "allowed"), [("1", "t"), ("2", "v"), ("3", "r")])
def test_both_families_of_dsc_type_oids_count(family: str, number: str, allowed: str) -> None:
    only = pki.issue_certificate(
        pki.name(cn=f"DSC {family}{number}", c="XX"),
        pki.new_key("ec"),
        issuer=None,
        not_before=CLOCK - 30 * DAY,
        days=365,
        key_usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False),
        eku=[x509.ObjectIdentifier(family + number)],
    )
    for kind in "tvr":
        result = hc1.verify_hc1(text_of(sign(only, claims(dcc(kind)))), hc1.DscList.of([only.certificate]), CLOCK)
        expected = Outcome.VALID if kind == allowed else Outcome.ISSUER_NOT_AUTHORISED
        assert result.outcome is expected, (family + number, kind, result.outcome)
        assert result.signature == "valid"
    assert hc1.type_oids(allowed) == {x509.ObjectIdentifier(f + number) for f in FAMILIES}


def test_a_dsc_may_mix_the_two_families() -> None:
    mixed = pki.issue_certificate(
        pki.name(cn="DSC mixed", c="XX"),
        pki.new_key("ec"),
        issuer=None,
        not_before=CLOCK - 30 * DAY,
        days=365,
        key_usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False),
        eku=[x509.ObjectIdentifier(FAMILIES[0] + "1"), x509.ObjectIdentifier(FAMILIES[1] + "3")],
    )
    outcomes = {
        k: hc1.verify_hc1(text_of(sign(mixed, claims(dcc(k)))), hc1.DscList.of([mixed.certificate]), CLOCK).outcome
        for k in "tvr"
    }
    assert outcomes == {"t": Outcome.VALID, "v": Outcome.ISSUER_NOT_AUTHORISED, "r": Outcome.VALID}


def test_the_signature_verdict_is_reported_apart_from_the_payload(signer: pki.Issued) -> None:
    dscs = hc1.DscList.of([signer.certificate])
    # A genuine signature over a payload that breaks the schema: MALFORMED, and the signature said valid.
    two = hc1.verify_hc1(text_of(sign(signer, claims(dcc("v", "t")))), dscs, CLOCK)
    assert (two.outcome, two.reason, two.signature) == (Outcome.MALFORMED, "not_exactly_one_entry", "valid")
    assert two.to_dict()["signature"] == "valid" and "signature valid" in two.summary()
    # A forged signature is TAMPERED whatever the payload holds (it used to read MALFORMED, hiding the forgery).
    for payload in (claims(dcc("v", "t")), cbor2.dumps({4: 1.5, 6: "x"}), cbor2.dumps(["not", "claims"])):
        forged = hc1.verify_hc1(text_of(sign(signer, payload, flip=True)), dscs, CLOCK)
        assert (forged.outcome, forged.reason, forged.signature) == (Outcome.TAMPERED, "bad_signature", "invalid")
    good = hc1.verify_hc1(text_of(sign(signer, claims(dcc("v")))), dscs, CLOCK)
    assert good.signature == "valid" and good.to_dict()["signature"] == "valid" and good.notes == ()


def test_schema_details_a_reference_verifier_does_without_are_remarks(signer: pki.Issued) -> None:
    payload = dcc("r")
    del payload["ver"], payload["dob"]
    payload["nam"] = {"gn": "Aida", "fn": "Testova"}
    result = hc1.verify_hc1(text_of(sign(signer, claims(payload))), hc1.DscList.of([signer.certificate]), CLOCK)
    assert result.outcome is Outcome.VALID and result.signature == "valid"
    assert result.notes == ("schema:ver_missing", "schema:fnt_missing", "schema:dob_missing")
    assert "remarks: schema:ver_missing" in result.summary()


def test_an_indefinite_length_payload_is_read(signer: pki.Issued) -> None:
    """CBOR allows indefinite lengths and EU decoders are lenient (§1.2); KZMB1 keeps refusing them."""
    body = cbor2.loads(claims(dcc("v")))
    encoded = b"\xbf" + b"".join(cbor2.dumps(k) + cbor2.dumps(v) for k, v in body.items()) + b"\xff"
    result = hc1.verify_hc1(text_of(sign(signer, encoded)), hc1.DscList.of([signer.certificate]), CLOCK)
    assert result.outcome is Outcome.VALID
    with pytest.raises(SealMalformed):
        cose.loads_strict(encoded)
