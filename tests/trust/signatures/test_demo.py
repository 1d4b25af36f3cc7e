"""Demo signing with the files of `emhana pki demo`, the signer identity check, and `emhana sign demo`."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.cli.main import app as cli_app
from emhana.devtools.pki_demo import write_demo
from emhana.kernel import errors
from emhana.medbook.models import JournalEntry
from emhana.trust.keys.certs import load_pkcs12
from emhana.trust.signatures.cms import sign_detached, verify_detached
from emhana.trust.signatures.identity import check_signer
from emhana.trust.signatures.truststore import from_demo_folder, load_certificates
from tests.builders.medbook import World
from tests.builders.signatures import BIN, IIN, PASSWORD, Pki, at_the_wall_clock, entry_of

DATA = b'{"type":"emhana.medbook.entry/1"}'


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("pki")
    return out, write_demo(out, now=dt.datetime.now(dt.UTC), algorithm="ec")


def test_pkcs12_files_of_pki_demo_sign_and_verify(demo_dir: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = demo_dir
    trust = from_demo_folder(out)
    for person in manifest["people"]:
        if person["kind"] != "clinician":
            continue
        key, cert, chain = load_pkcs12((out / f"clinician-{person['iin']}.p12").read_bytes(), manifest["password"])
        der = sign_detached(DATA, key, cert, chain)
        if person["revoked"]:
            with pytest.raises(errors.CertificateRevoked):
                verify_detached(DATA, der, anchors=trust.anchors, crls=trust.crls)
            continue
        evidence = verify_detached(DATA, der, anchors=trust.anchors, crls=trust.crls)
        check_signer(evidence, iin=person["iin"], bin_=person["bin"])
        with pytest.raises(errors.WrongSigner) as caught:
            check_signer(evidence, iin=person["iin"], bin_="000000000000")
        assert "BIN" in caught.value.english()


def test_an_organization_certificate_names_the_head_and_the_bin(demo_dir: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = demo_dir
    org = next(p for p in manifest["people"] if p["kind"] == "organization")
    key, cert, chain = load_pkcs12((out / f"organization-{org['bin']}.p12").read_bytes(), manifest["password"])
    trust = from_demo_folder(out)
    evidence = verify_detached(DATA, sign_detached(DATA, key, cert, chain), anchors=trust.anchors, crls=trust.crls)
    assert evidence.signer_bin == org["bin"] and evidence.signer_iin is not None


def test_identity_needs_the_fields_in_the_certificate(ec_pki: Pki) -> None:
    evidence = verify_detached(
        DATA,
        sign_detached(DATA, ec_pki.clinician.key, ec_pki.clinician.certificate, [ec_pki.inter.certificate]),
        anchors=[ec_pki.root.certificate],
        crls=[ec_pki.crl],
    )
    check_signer(evidence, iin=IIN, bin_=BIN)
    for iin, bin_, words in ((None, "150340001237", "BIN"), ("850314400124", None, "IIN")):
        with pytest.raises(errors.WrongSigner) as caught:
            check_signer(evidence, iin=iin, bin_=bin_)
        assert words in caught.value.english() and caught.value.code == "signature.wrong_signer"
    bare = type(evidence)(**{**evidence.__dict__, "signer_iin": None, "signer_bin": None})
    with pytest.raises(errors.WrongSigner, match="names no IIN"):
        check_signer(bare, iin=IIN, bin_=BIN)
    with pytest.raises(errors.WrongSigner, match="names no BIN"):
        check_signer(bare, iin=None, bin_=BIN)


def test_load_certificates_reads_pem_bundles_and_der(ec_pki: Pki) -> None:
    pem = ec_pki.root.pem() + ec_pki.inter.pem()
    assert [c.subject for c in load_certificates(pem)] == [
        ec_pki.root.certificate.subject,
        ec_pki.inter.certificate.subject,
    ]
    der = ec_pki.root.certificate.public_bytes(serialization.Encoding.DER)
    assert load_certificates(der) == [ec_pki.root.certificate]
    with pytest.raises(errors.CertificateInvalid):
        load_certificates(b"nothing")


def test_sign_demo_command_signs_a_record_in_the_database(
    client: TestClient,
    world: World,
    signing: Callable[..., Path],
    database_url: str,
    sessions: sessionmaker[Session],
    ec_pki: Pki,
    tmp_path: Path,
) -> None:
    entry_id = entry_of(client, world)
    trust_dir = tmp_path / "trust"
    trust_dir.mkdir()
    (trust_dir / "root-ca.pem").write_bytes(ec_pki.root.pem())
    (trust_dir / "intermediate-ca.pem").write_bytes(ec_pki.inter.pem())
    (trust_dir / "intermediate-ca.crl").write_bytes(ec_pki.crl.public_bytes(serialization.Encoding.DER))
    args = [
        "sign",
        "demo",
        "--kind",
        "medbook_entry",
        "--id",
        str(entry_id),
        "--trust-dir",
        str(trust_dir),
        "--password",
        PASSWORD,
        "--database-url",
        database_url,
    ]
    at_the_wall_clock()  # `sign demo` signs (OpenSSL's signingTime) and verifies (the clock's now) here and now
    wrong = CliRunner().invoke(cli_app, [*args, "--p12", str(signing(iin_="900101300017"))])
    assert wrong.exit_code == 1 and "signature.wrong_signer" in wrong.output
    result = CliRunner().invoke(cli_app, [*args, "--p12", str(signing())])
    assert result.exit_code == 0, result.output
    assert f"signed medbook_entry {entry_id}" in result.output
    with sessions() as s:
        assert s.get(JournalEntry, entry_id).signature_state == "signed"  # type: ignore[union-attr]
    cms = CliRunner().invoke(cli_app, ["sign", "cms", "--p12", str(signing()), "--password", "wrong"], input=b"x")
    assert cms.exit_code == 2 and "trust.certificate_invalid" in cms.output
    assert json.loads(
        base64.b64decode(
            client.get(f"/api/v1/signatures/medbook_entry/{entry_id}/to-sign", headers=world.h["clin_a"]).json()[
                "canonical"
            ]
        )
    )["book"]
