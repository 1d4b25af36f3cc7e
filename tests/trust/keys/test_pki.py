"""The demo PKI: NCA-shaped subjects (IIN, BIN), key usages, PKCS#12 with a password, a CRL, the seal scheme."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.devtools.pki_demo import DEMO_PASSWORD, write_demo
from emhana.identity.rules import is_valid_bin, is_valid_iin
from emhana.kernel.errors import CertificateInvalid
from emhana.trust.keys import certs, pki
from emhana.trust.keys.certs import load_certificate, load_pkcs12
from emhana.trust.lists.revocation import with_revocation_list
from emhana.trust.lists.trustlist import load_trust_list
from emhana.trust.seals.verifier import Outcome, verify

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki")
    write_demo(out, now=NOW, algorithm="ec")
    return out


def test_demo_writes_every_file(demo: Path) -> None:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["password"] == DEMO_PASSWORD and "DEMO ONLY" in manifest["note"]
    for filename in manifest["files"]:
        assert (demo / filename).stat().st_size > 0
    kinds = [p["kind"] for p in manifest["people"]]
    assert kinds.count("clinician") == 3 and kinds.count("organization") == 2


def _p12(demo: Path, pattern: str) -> list[tuple[object, x509.Certificate, list[x509.Certificate]]]:
    return [load_pkcs12(p.read_bytes(), DEMO_PASSWORD) for p in sorted(demo.glob(pattern))]


def test_clinician_certificates(demo: Path) -> None:
    inter = load_certificate((demo / "intermediate-ca.pem").read_bytes())
    root = load_certificate((demo / "root-ca.pem").read_bytes())
    for _key, cert, chain in _p12(demo, "clinician-*.p12"):
        iin, bin_ = certs.subject_iin(cert), certs.subject_bin(cert)
        assert iin and is_valid_iin(iin) and bin_ and is_valid_bin(bin_)
        cert.verify_directly_issued_by(inter)
        inter.verify_directly_issued_by(root)
        assert [c.subject for c in chain] == [inter.subject, root.subject]
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
        assert not ku.value.key_cert_sign
        ekus = certs.extended_key_usages(cert)
        assert ekus is not None and {certs.OID_EMAIL_PROTECTION, certs.OID_NCA_EMPLOYEE} <= ekus
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert pki.is_ca_usage(inter) and pki.is_ca_usage(root)


def test_organization_certificates(demo: Path) -> None:
    for _key, cert, _chain in _p12(demo, "organization-*.p12"):
        bin_ = certs.subject_bin(cert)
        assert bin_ and is_valid_bin(bin_) and certs.subject_organization(cert)
        ekus = certs.extended_key_usages(cert)
        assert ekus is not None and certs.OID_NCA_FIRST_HEAD in ekus


def test_pkcs12_needs_its_password(demo: Path) -> None:
    path = next(demo.glob("clinician-*.p12"))
    with pytest.raises(CertificateInvalid):
        load_pkcs12(path.read_bytes(), "wrong")
    with pytest.raises(CertificateInvalid):
        load_pkcs12(b"not pkcs12", DEMO_PASSWORD)


def test_crl_lists_the_revoked_clinician(demo: Path) -> None:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    crl = x509.load_der_x509_crl((demo / "intermediate-ca.crl").read_bytes())
    inter = load_certificate((demo / "intermediate-ca.pem").read_bytes())
    inter_key = inter.public_key()
    assert isinstance(inter_key, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(inter_key) and crl.issuer == inter.subject
    revoked = {format(r.serial_number, "x") for r in crl}
    assert revoked == {p["serial"] for p in manifest["people"] if p["revoked"]} and len(revoked) == 1


def test_dscs_chain_to_the_scheme_ca(demo: Path) -> None:
    scheme = load_certificate((demo / "scheme-ca.pem").read_bytes())
    for path in demo.glob("dsc-*.pem"):
        dsc = load_certificate(path.read_bytes())
        dsc.verify_directly_issued_by(scheme)
        ku = dsc.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.digital_signature and not ku.content_commitment
        assert certs.extended_key_usages(dsc) == frozenset(certs.RECORD_TYPE_OIDS.values())
        assert isinstance(dsc.public_key(), ec.EllipticCurvePublicKey)


def test_demo_seals_verify(demo: Path) -> None:
    anchor = load_certificate((demo / "scheme-ca.pem").read_bytes())
    ctx = load_trust_list((demo / "trust-list.json").read_bytes(), anchor)
    ctx = with_revocation_list(ctx, (demo / "revocation-list.json").read_bytes(), anchor)
    current = (demo / "seal.txt").read_text().strip()
    assert verify(current, ctx, NOW).outcome is Outcome.VALID
    assert verify((demo / "seal-v1-superseded.txt").read_text().strip(), ctx, NOW).outcome is Outcome.SUPERSEDED


def test_no_iin_of_any_demo_person_in_seals_or_lists(demo: Path) -> None:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    iins = {p["iin"] for p in manifest["people"] if "iin" in p}
    from emhana.trust.lists.jws import unb64url
    from emhana.trust.seals import kzmb1 as seal

    published = [seal.decode_transport((demo / f).read_text().strip()) for f in ("seal.txt", "seal-v1-superseded.txt")]
    published += [unb64url(json.loads((demo / f).read_text())["payload"]) for f in ("revocation-list.json",)]
    for blob in published:
        assert not any(iin.encode() in blob for iin in iins)
    revocations = published[-1].decode()
    assert not re.search(r"\d{12}", revocations)


def test_unknown_key_algorithm() -> None:
    with pytest.raises(ValueError):
        pki.new_key("gost")


def test_certificate_loading_forms(demo: Path) -> None:
    pem = (demo / "scheme-ca.pem").read_bytes()
    cert = load_certificate(pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    assert load_certificate(der) == cert == load_certificate(base64.b64encode(der))
    for bad in (b"", b"-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----", b"\x30\x01", b"!!"):
        with pytest.raises(CertificateInvalid):
            load_certificate(bad)
