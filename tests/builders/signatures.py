"""Record signatures in tests: a small NCA-like PKI on the wall clock (root → intermediate → clinician SIGN
certificates, and a CRL), NCALayer's part played by `emhana sign cms`, and detached CMS over a journal entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from emhana.cli.main import app as cli_app
from emhana.kernel import clock
from emhana.trust.keys import pki
from emhana.trust.keys.certs import OID_EMAIL_PROTECTION, OID_NCA_EMPLOYEE
from emhana.trust.signatures.cms import sign_detached, verify_detached
from emhana.trust.signatures.evidence import Evidence
from tests.builders.medbook import World, issue_book, record

IIN = "850314400123"
BIN = "150340001236"
PASSWORD = "demo-pki"


@dataclass
class Pki:
    root: pki.Issued
    inter: pki.Issued
    clinician: pki.Issued
    crl: x509.CertificateRevocationList
    now: dt.datetime

    def crl_of(
        self,
        revoked: list[tuple[x509.Certificate, dt.datetime]],
        *,
        number: int = 2,
        this_update: dt.datetime | None = None,
        next_update: dt.datetime | None = None,
    ) -> x509.CertificateRevocationList:
        start = this_update or self.now
        return pki.make_crl(
            self.inter,
            revoked,
            this_update=start,
            next_update=next_update or start + dt.timedelta(days=1),
            number=number,
        )

    def person(
        self,
        *,
        iin: str = IIN,
        bin_: str = BIN,
        not_before: dt.datetime | None = None,
        days: int = 365,
        key_usage: x509.KeyUsage | None = None,
        eku: tuple[x509.ObjectIdentifier, ...] | None = None,
    ) -> pki.Issued:
        """Issue another person certificate of the intermediate (defaults as NCA RK's SIGN key)."""
        algorithm = "ec" if isinstance(self.clinician.key.public_key(), ec.EllipticCurvePublicKey) else "rsa"
        usage = key_usage or x509.KeyUsage(
            digital_signature=True,
            content_commitment=True,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        subject = pki.name(cn="ТЕСТОВ ТЕСТ", sn="ТЕСТОВ", serial=f"IIN{iin}", c="KZ", o="Clinic", ou=f"BIN{bin_}")
        return pki.issue_certificate(
            subject,
            pki.new_key(algorithm),
            issuer=self.inter,
            not_before=not_before or self.now - dt.timedelta(days=1),
            days=days,
            key_usage=usage,
            eku=eku if eku is not None else (OID_EMAIL_PROTECTION, OID_NCA_EMPLOYEE),
            crl_url=pki.CRL_URL,
        )


def make_pki(algorithm: str) -> Pki:
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
    start = moment - dt.timedelta(days=1)
    root = pki.make_root(not_before=start, algorithm=algorithm)
    inter = pki.make_intermediate(root, not_before=start, algorithm=algorithm)
    clinician = pki.make_clinician(
        inter,
        surname="АХМЕТОВА",
        given_name="АЙГЕРИМ",
        iin=IIN,
        organization="Clinic",
        bin_=BIN,
        not_before=start,
        algorithm=algorithm,
    )
    crl = pki.make_crl(inter, [], this_update=moment, next_update=moment + dt.timedelta(days=1), number=1)
    return Pki(root, inter, clinician, crl, moment)


_CACHE: dict[str, Pki] = {}


def pki_of(algorithm: str) -> Pki:
    """The PKI in an algorithm, made once per test session (RSA keys are slow to generate)."""
    if algorithm not in _CACHE:
        _CACHE[algorithm] = make_pki(algorithm)
    return _CACHE[algorithm]


def ncalayer(p12: Path, data: bytes) -> str:
    """Sign like NCALayer, through `emhana sign cms` with the PKCS#12 file.

    NCALayer signs at the wall clock of the user's machine (OpenSSL writes the signingTime), as the test PKI is
    made on the wall clock: a process clock a test has fixed moves to that moment, so the server, which verifies
    at its clock's now, receives the signature as it is made."""
    result = CliRunner().invoke(cli_app, ["sign", "cms", "--p12", str(p12), "--password", PASSWORD], input=data)
    assert result.exit_code == 0, result.output
    at_the_wall_clock()
    return result.output.strip()


def at_the_wall_clock() -> None:
    """Move a clock a test has fixed to the wall clock's now (where the test PKI and signingTime stand)."""
    current = clock.current()
    if isinstance(current, clock.Fixed):
        current.set(dt.datetime.now(dt.UTC))


def entry_of(client: TestClient, world: World) -> int:
    """Issue the cook's book and record one lab result; return the entry's id."""
    book = issue_book(client, world)
    r = record(client, world, book["id"], "lab_result", "syphilis", "negative")
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


DATA = '{"type":"emhana.medbook.entry/1","result_text":"норма\\nжоқ"}\n'.encode()


def sign(
    p: Pki, data: bytes = DATA, signer: pki.Issued | None = None, chain: Sequence[x509.Certificate] | None = None
) -> bytes:
    """A detached CMS over data by the clinician (or another signer), with the intermediate (or another chain)."""
    issued = signer or p.clinician
    return sign_detached(data, issued.key, issued.certificate, [p.inter.certificate] if chain is None else chain)


def verify(p: Pki, der: bytes, data: bytes = DATA, **kw: Any) -> Evidence:
    """Verify a detached CMS over data against the PKI's root and CRL (or what kw says instead)."""
    options: dict[str, Any] = {"anchors": [p.root.certificate], "crls": [p.crl], **kw}
    return verify_detached(data, der, **options)
