"""HC1 (EU DCC) verification on the shared COSE/base45/zlib layers, with our own DSCs."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization

from emhana.devtools.corpus.hc1 import CLOCK, claims, dcc, dsc, sign, text_of
from emhana.kernel.errors import SealMalformed, TrustListInvalid
from emhana.trust.keys import pki
from emhana.trust.seals import hc1
from emhana.trust.seals.verifier import Outcome


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
        hc1.read_claims({4: 1.5, 6: 0})
    c = hc1.read_claims({4: 10, 6: 1, -260: {1: {"nam": {"fnt": "X<Y"}, "r": [{}]}}})
    assert (c.kind, c.name, c.iss, c.dob) == ("r", "X<Y", None, "")


def test_clock_must_be_aware(signer: pki.Issued) -> None:
    with pytest.raises(ValueError):
        hc1.verify_hc1("HC1:", hc1.DscList({}), CLOCK.replace(tzinfo=None))
