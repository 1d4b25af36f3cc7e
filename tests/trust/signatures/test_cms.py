"""Detached CMS: round trips in RSA and ECDSA, and every refusal with its stable code."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509

from emhana.kernel import errors
from emhana.trust.keys.certs import OID_CLIENT_AUTH
from emhana.trust.signatures.cmsparse import MAX_CMS
from emhana.trust.signatures.evidence import Evidence
from tests.builders.signatures import BIN, DATA, IIN, Pki, sign, verify


def test_round_trip_gives_the_evidence(world_pki: Pki) -> None:
    der = sign(world_pki)
    evidence = verify(world_pki, der)
    assert (evidence.signer_iin, evidence.signer_bin, evidence.verifier) == (IIN, BIN, "in-process")
    assert evidence.signer_common_name == "АХМЕТОВА АЙГЕРИМ"
    assert len(evidence.chain) == 3 and "Root" in evidence.chain[-1] and "IIN" + IIN in evidence.chain[0]
    assert [(c.number, "Intermediate" in c.issuer) for c in evidence.crls] == [(1, True)]
    assert abs(evidence.signing_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert evidence.to_json()["outcome"] == "valid"


def test_the_intermediate_may_come_from_the_configuration(world_pki: Pki) -> None:
    der = sign(world_pki, chain=[])
    with pytest.raises(errors.UntrustedChain):
        verify(world_pki, der)
    assert verify(world_pki, der, intermediates=[world_pki.inter.certificate]).signer_iin == IIN


def test_tampered_data_is_a_digest_mismatch(world_pki: Pki) -> None:
    der = sign(world_pki)
    with pytest.raises(errors.DigestMismatch) as caught:
        verify(world_pki, der, data=DATA.replace(b"\xd0\xbd", b"\xd0\xbe", 1))
    assert caught.value.code == "signature.digest_mismatch"


def _resigned(der: bytes, change: Callable[[Any], None]) -> bytes:
    info = cms.ContentInfo.load(der)
    change(info["content"]["signer_infos"][0])
    return bytes(cms.ContentInfo.load(info.dump(force=True)).dump())


def test_a_changed_signature_value_is_refused(world_pki: Pki) -> None:
    def flip(signer_info: Any) -> None:
        value = bytearray(signer_info["signature"].native)
        value[-3] ^= 0x01
        signer_info["signature"] = bytes(value)

    with pytest.raises(errors.BadSignature) as caught:
        verify(world_pki, _resigned(sign(world_pki), flip))
    assert caught.value.code == "signature.bad_signature"


def test_a_changed_signed_attribute_breaks_the_signature(world_pki: Pki) -> None:
    def later(signer_info: Any) -> None:
        for attribute in signer_info["signed_attrs"]:
            if attribute["type"].native == "signing_time":
                attribute["values"] = [cms.Time({"utc_time": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)})]

    with pytest.raises(errors.BadSignature):
        verify(world_pki, _resigned(sign(world_pki), later))


def test_a_wrong_anchor_is_an_untrusted_chain(world_pki: Pki, ec_pki: Pki) -> None:
    other = ec_pki if world_pki is not ec_pki else None
    anchor = other.root.certificate if other else world_pki.inter.certificate
    with pytest.raises(errors.UntrustedChain) as caught:
        verify(world_pki, sign(world_pki), anchors=[anchor] if other else [])
    assert caught.value.status == 422


def test_an_expired_certificate_is_refused(ec_pki: Pki) -> None:
    old = ec_pki.person(not_before=ec_pki.now - dt.timedelta(days=400), days=365)
    with pytest.raises(errors.CertificateExpired):
        verify(ec_pki, sign(ec_pki, signer=old))


def test_a_certificate_revoked_by_the_crl_is_refused(ec_pki: Pki) -> None:
    revoked = ec_pki.person()
    der = sign(ec_pki, signer=revoked)
    assert verify(ec_pki, der).signer_iin == IIN
    before = ec_pki.crl_of([(revoked.certificate, ec_pki.now - dt.timedelta(hours=1))])
    with pytest.raises(errors.CertificateRevoked) as caught:
        verify(ec_pki, der, crls=[before])
    assert caught.value.code == "signature.revoked"
    # Revoked after the claimed signing time but before the clock: still refused (no trusted timestamp).
    after = ec_pki.crl_of(
        [(revoked.certificate, dt.datetime.now(dt.UTC).replace(microsecond=0))],
        this_update=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    with pytest.raises(errors.CertificateRevoked):
        verify(ec_pki, der, crls=[after], at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))


def test_revocation_must_be_known_from_a_current_cached_crl(ec_pki: Pki) -> None:
    der = sign(ec_pki)
    with pytest.raises(errors.RevocationUnknown):
        verify(ec_pki, der, crls=[])
    with pytest.raises(errors.RevocationUnknown) as caught:
        verify(ec_pki, der, at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    assert caught.value.params["reason"] == "the cached CRL of the issuer is out of date"
    forged = Pki(ec_pki.root, ec_pki.root, ec_pki.clinician, ec_pki.crl, ec_pki.now).crl_of([])
    with pytest.raises(errors.RevocationUnknown):
        verify(ec_pki, der, crls=[forged])


def test_key_usage_must_allow_signing(ec_pki: Pki) -> None:
    encipher = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    with pytest.raises(errors.KeyUsageRefused) as caught:
        verify(ec_pki, sign(ec_pki, signer=ec_pki.person(key_usage=encipher)))
    assert caught.value.code == "signature.key_usage"
    with pytest.raises(errors.KeyUsageRefused) as auth:
        verify(ec_pki, sign(ec_pki, signer=ec_pki.person(eku=(OID_CLIENT_AUTH,))))
    assert "AUTH" in auth.value.english()
    assert verify(ec_pki, sign(ec_pki, signer=ec_pki.person(eku=()))).signer_bin == BIN


@pytest.mark.parametrize(
    "mangle",
    [
        lambda der: b"",
        lambda der: b"not a cms at all",
        lambda der: der[: len(der) // 2],
        lambda der: der + b"\x00",
        lambda der: b"\x30\x03\x06\x01\x00",
        lambda der: b"\x30" + b"\x84\xff\xff\xff\xff" + der,
    ],
)
def test_malformed_der_is_refused_with_its_code(ec_pki: Pki, mangle: Callable[[bytes], bytes]) -> None:
    with pytest.raises(errors.SignatureMalformed) as caught:
        verify(ec_pki, mangle(sign(ec_pki)))
    assert caught.value.code == "signature.malformed" and caught.value.status == 422


def test_oversized_and_unsigned_cms_are_malformed(ec_pki: Pki) -> None:
    with pytest.raises(errors.SignatureMalformed):
        verify(ec_pki, b"\x30" * (MAX_CMS + 1))

    def strip(signer_info: Any) -> None:
        signer_info["signed_attrs"] = cms.CMSAttributes([])

    with pytest.raises(errors.SignatureMalformed) as caught:
        verify(ec_pki, _resigned(sign(ec_pki), strip))
    assert "signed attributes" in caught.value.english()


def test_a_signing_time_after_the_clock_is_refused(ec_pki: Pki) -> None:
    with pytest.raises(errors.SignatureMalformed) as caught:
        verify(ec_pki, sign(ec_pki), at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    assert "future" in caught.value.english()


def test_an_unknown_key_algorithm_is_unsupported(ec_pki: Pki) -> None:
    def relabel(signer_info: Any) -> None:
        signer_info["digest_algorithm"] = {"algorithm": "md5"}

    with pytest.raises(errors.UnsupportedAlgorithm) as caught:
        verify(ec_pki, _resigned(sign(ec_pki), relabel))
    assert caught.value.code == "signature.unsupported_algorithm"


def test_verify_detached_also_runs_inside_an_event_loop(ec_pki: Pki) -> None:
    async def inside() -> Evidence:
        return verify(ec_pki, sign(ec_pki))

    assert asyncio.run(inside()).signer_iin == IIN


def test_an_attached_copy_is_accepted_only_when_it_is_the_data(ec_pki: Pki) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    attached = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(DATA)
        .add_signer(ec_pki.clinician.certificate, ec_pki.clinician.key, hashes.SHA256())
        .add_certificate(ec_pki.inter.certificate)
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities])
    )
    assert verify(ec_pki, attached).signer_iin == IIN
    info = cms.ContentInfo.load(attached)
    info["content"]["encap_content_info"]["content"] = b"another document"
    with pytest.raises(errors.DigestMismatch):  # the digest is the data's, but the copy inside is not the data
        verify(ec_pki, cms.ContentInfo.load(info.dump(force=True)).dump())
