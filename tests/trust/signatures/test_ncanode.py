"""GOST signatures go to NCANode (selected by the signer key's OID); tested against a fake NCANode on loopback,
including its failure modes: down, timing out, broken, refusing, and saying invalid, revoked, expired, AUTH."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.kernel import errors
from emhana.testing.ncanode import FakeNcaNode, gost_cms, serve
from emhana.trust.signatures.cms import verify_detached
from emhana.trust.signatures.evidence import Evidence
from emhana.trust.signatures.identity import check_signer
from emhana.trust.signatures.ncanode import NcaNodeVerifier
from emhana.trust.signatures.verifiers import SignatureVerifier
from tests.builders.signatures import BIN, IIN, Pki

DATA = b'{"type":"emhana.medbook.entry/1"}'


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeNcaNode, str]]:
    node = FakeNcaNode()
    with serve(node) as url:
        yield node, url


@pytest.fixture
def node(fake: tuple[FakeNcaNode, str]) -> Iterator[tuple[FakeNcaNode, NcaNodeVerifier]]:
    fake[0].mode = "valid"
    fake[0].seen.clear()
    yield fake[0], NcaNodeVerifier(fake[1], timeout=0.5)


def verify(p: Pki, der: bytes, gost: SignatureVerifier | None, **kw: Any) -> Evidence:
    return verify_detached(DATA, der, anchors=[p.root.certificate], crls=[p.crl], gost=gost, **kw)


def test_a_gost_signature_is_verified_by_ncanode(ec_pki: Pki, node: tuple[FakeNcaNode, NcaNodeVerifier]) -> None:
    fake, verifier = node
    evidence = verify(ec_pki, gost_cms(ec_pki.person()), verifier)
    assert (evidence.verifier, evidence.signer_iin, evidence.signer_bin) == ("ncanode", IIN, BIN)
    assert evidence.remote["signAlg"] == "GOST3410-2015-256" and evidence.crls == ()
    check_signer(evidence, iin=IIN, bin_=BIN)
    sent = fake.seen[-1]
    assert sent["revocationCheck"] == ["CRL"] and sent["data"] == "eyJ0eXBlIjoiZW1oYW5hLm1lZGJvb2suZW50cnkvMSJ9"


def test_rsa_and_ecdsa_never_go_to_ncanode(ec_pki: Pki, node: tuple[FakeNcaNode, NcaNodeVerifier]) -> None:
    from emhana.trust.signatures.cms import sign_detached

    fake, verifier = node
    der = sign_detached(DATA, ec_pki.clinician.key, ec_pki.clinician.certificate, [ec_pki.inter.certificate])
    assert verify(ec_pki, der, verifier).verifier == "in-process" and fake.seen == []


@pytest.mark.parametrize(
    ("mode", "error", "code"),
    [
        ("invalid", errors.BadSignature, "signature.bad_signature"),
        ("revoked", errors.CertificateRevoked, "signature.revoked"),
        ("expired", errors.CertificateExpired, "signature.expired"),
        ("auth", errors.KeyUsageRefused, "signature.key_usage"),
        ("refuse", errors.SignatureMalformed, "signature.malformed"),
        ("broken", errors.VerifierUnavailable, "signature.verifier_unavailable"),
        ("slow", errors.VerifierUnavailable, "signature.verifier_unavailable"),
    ],
)
def test_ncanode_verdicts_and_failures_map_to_codes(
    ec_pki: Pki, node: tuple[FakeNcaNode, NcaNodeVerifier], mode: str, error: type[errors.SignatureError], code: str
) -> None:
    fake, verifier = node
    fake.mode = mode
    with pytest.raises(error) as caught:
        verify(ec_pki, gost_cms(ec_pki.person()), verifier)
    assert caught.value.code == code
    if mode == "slow":
        assert "timed out" in caught.value.english() and caught.value.status == 503


def test_ncanode_down_is_unavailable_not_invalid(ec_pki: Pki) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(errors.VerifierUnavailable) as caught:
        verify(ec_pki, gost_cms(ec_pki.person()), NcaNodeVerifier(f"http://127.0.0.1:{port}", timeout=2))
    assert "cannot be reached" in caught.value.english()


def test_gost_without_a_configured_verifier_is_unavailable(ec_pki: Pki) -> None:
    with pytest.raises(errors.VerifierUnavailable) as caught:
        verify(ec_pki, gost_cms(ec_pki.person()), None)
    assert "EMHANA_NCANODE_URL" in caught.value.english()


def test_a_future_signing_time_is_refused_before_asking(ec_pki: Pki, node: tuple[FakeNcaNode, NcaNodeVerifier]) -> None:
    fake, verifier = node
    der = gost_cms(ec_pki.person(), signing_time=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    with pytest.raises(errors.SignatureMalformed):
        verify(ec_pki, der, verifier)
    assert fake.seen == []


def test_the_wrong_person_is_refused_after_ncanode_says_valid(
    ec_pki: Pki, node: tuple[FakeNcaNode, NcaNodeVerifier]
) -> None:
    evidence = verify(ec_pki, gost_cms(ec_pki.person(iin="900101300017")), node[1])
    with pytest.raises(errors.WrongSigner):
        check_signer(evidence, iin=IIN, bin_=BIN)
