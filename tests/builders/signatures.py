"""Record signatures in tests: a small NCA-like PKI on the wall clock (root → intermediate → clinician SIGN
certificates, and a CRL), NCALayer's part played by `emhana sign cms`, detached CMS over a journal entry, and
``sign_book``: the world's clinicians sign a book's entries (a seal needs a signed clearance, C-06, C-40)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.accounts.models import Account
from emhana.cli.main import app as cli_app
from emhana.facilities.models import Entity
from emhana.identity.models import Person
from emhana.kernel import clock
from emhana.medbook.models import JournalEntry
from emhana.trust.keys import pki
from emhana.trust.keys.certs import OID_EMAIL_PROTECTION, OID_NCA_EMPLOYEE
from emhana.trust.signatures.cms import sign_detached, verify_detached
from emhana.trust.signatures.evidence import Evidence
from emhana.trust.signatures.records import RecordKind, signable
from emhana.trust.signatures.service import attach_signature
from emhana.trust.signatures.truststore import TrustStore
from tests.builders.medbook import World, issue_book, record
from tests.builders.people import add_person

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


def trust_test_pki(app: FastAPI) -> Pki:
    """Make the app trust the EC test PKI for record signatures (besides what it trusts already); return it."""
    p = pki_of("ec")
    store: TrustStore | None = getattr(app.state, "signature_trust", None)
    if store is None:
        app.state.signature_trust = TrustStore(anchors=(p.root.certificate,), crls=(p.crl,))
    elif p.root.certificate not in store.anchors:
        app.state.signature_trust = TrustStore(
            anchors=(*store.anchors, p.root.certificate),
            crls=(*store.crls, p.crl),
            intermediates=store.intermediates,
            gost=store.gost,
        )
    return p


_PEOPLE: dict[tuple[str, str], pki.Issued] = {}


def certificate_of(sessions: sessionmaker[Session], account_id: int) -> pki.Issued:
    """Return a SIGN certificate of the test PKI for an account's person and organization (giving the account a
    person first if it has none: a signature carries the signer's IIN, C-06)."""
    with sessions() as s:
        account = s.get_one(Account, account_id)
        person_id, entity_id = account.person_id, account.entity_id
    if person_id is None:
        person_id = add_person(sessions, born=dt.date(1980, 1, 1), sex="female")
        with sessions.begin() as s:  # through the ORM, so the account's hash chain records the change
            s.get_one(Account, account_id).person_id = person_id
    with sessions() as s:
        iin = s.get_one(Person, person_id).iin
        bin_ = s.get_one(Entity, entity_id).bin if entity_id is not None else BIN
    if (iin, bin_) not in _PEOPLE:
        _PEOPLE[(iin, bin_)] = pki_of("ec").person(iin=iin, bin_=bin_)
    return _PEOPLE[(iin, bin_)]


def sign_entries(client: TestClient, w: World, *entry_ids: int) -> None:
    """Sign entries as their authors (NCALayer's part in process) and attach each through the trust service, so
    the path and CRL checks run; verified at the wall clock, where the test PKI and the signingTime stand."""
    app = client.app
    assert isinstance(app, FastAPI)
    p = trust_test_pki(app)
    sessions: sessionmaker[Session] = app.state.sessions
    by_account = {a.account_id: a for a in w.actors.values()}
    for entry_id in entry_ids:
        with sessions() as s:
            author = s.get_one(JournalEntry, entry_id).author_account_id
        assert author is not None and author in by_account, f"entry {entry_id} has no author of the world"
        issued = certificate_of(sessions, author)
        with sessions.begin() as s:
            data = signable(s, RecordKind.MEDBOOK_ENTRY, entry_id).canonical
            cms = sign_detached(data, issued.key, issued.certificate, [p.inter.certificate])
            attach_signature(
                s,
                RecordKind.MEDBOOK_ENTRY,
                entry_id,
                cms,
                by_account[author],
                trust=app.state.signature_trust,
                at=dt.datetime.now(dt.UTC),
            )


def sign_book(client: TestClient, w: World, book_id: int) -> list[int]:
    """Sign every unsigned entry of a book as its author; return the entries signed."""
    app = client.app
    assert isinstance(app, FastAPI)
    with app.state.sessions() as s:
        pending = list(
            s.scalars(
                select(JournalEntry.id)
                .where(JournalEntry.book_id == book_id, JournalEntry.signature_state == "pending")
                .order_by(JournalEntry.id)
            )
        )
    sign_entries(client, w, *pending)
    return pending
