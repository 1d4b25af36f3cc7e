"""A small NCA-like PKI on the wall clock (root → intermediate → clinician SIGN certificates, and a CRL), the
medical-book world of tests/medbook with clin_a tied to a person, and NCALayer's part played by `emhana sign cms`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.accounts.models import Account
from emhana.cli.main import app as cli_app
from emhana.identity.models import Person
from emhana.trust.keys import pki
from emhana.trust.keys.certs import OID_EMAIL_PROTECTION, OID_NCA_EMPLOYEE
from emhana.trust.signatures.truststore import TrustStore
from tests.attachment.conftest import add_person, country, now, person  # noqa: F401  (fixtures)
from tests.medbook.conftest import World, at, issue_book, record, world  # noqa: F401  (fixtures)

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


@pytest.fixture(params=["ec", "rsa"])
def world_pki(request: pytest.FixtureRequest) -> Pki:
    """The PKI in each algorithm (made once per test session: RSA keys are slow to generate)."""
    if request.param not in _CACHE:
        _CACHE[request.param] = make_pki(request.param)
    return _CACHE[request.param]


@pytest.fixture
def ec_pki() -> Pki:
    if "ec" not in _CACHE:
        _CACHE["ec"] = make_pki("ec")
    return _CACHE["ec"]


@pytest.fixture
def signing(
    world: World,  # noqa: F811  (the fixture imported above)
    app,
    sessions: sessionmaker[Session],
    ec_pki: Pki,  # type: ignore[no-untyped-def]  # noqa: F811
    tmp_path: Path,
) -> Callable[..., Path]:
    """Tie clin_a to a person, trust the test PKI, and return a maker of PKCS#12 files."""
    person_id = add_person(sessions, born=dt.date(1985, 3, 14), sex="female")
    with sessions.begin() as s:
        s.execute(update(Account).where(Account.id == world.actors["clin_a"].account_id).values(person_id=person_id))
        iin = s.get(Person, person_id).iin  # type: ignore[union-attr]
    app.state.signature_trust = TrustStore(anchors=(ec_pki.root.certificate,), crls=(ec_pki.crl,))

    def p12(*, iin_: str | None = None, bin_: str = BIN) -> Path:
        issued = ec_pki.person(iin=iin_ or iin, bin_=bin_)
        path = tmp_path / f"clinician-{iin_ or iin}-{bin_}.p12"
        path.write_bytes(pki.to_pkcs12("clinician", issued, [ec_pki.inter.certificate], PASSWORD))
        return path

    return p12


def ncalayer(p12: Path, data: bytes) -> str:
    """Sign like NCALayer, through `emhana sign cms` with the PKCS#12 file."""
    result = CliRunner().invoke(cli_app, ["sign", "cms", "--p12", str(p12), "--password", PASSWORD], input=data)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def entry_of(client: TestClient, world: World) -> int:  # noqa: F811
    book = issue_book(client, world)
    r = record(client, world, book["id"], "lab_result", "syphilis", "negative")
    assert r.status_code == 201, r.text
    return int(r.json()["id"])
