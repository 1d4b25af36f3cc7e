"""`emhana pki demo`: a demo PKI, scheme CA, facility DSCs, signed lists and sample seals written to a folder."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.identity.models import Person
from emhana.identity.rules import Sex, make_bin, make_iin
from emhana.trust.keys import pki
from emhana.trust.keys.certs import OID_EMAIL_PROTECTION, OID_NCA_INDIVIDUAL
from emhana.trust.lists.revocation import Reason, build_revocation_list
from emhana.trust.lists.trustlist import TrustListSigner, build_trust_list
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.cwt import Clearance, ClearanceStatus, Section
from emhana.trust.seals.hashes import revocation_of

DEMO_PASSWORD = "demo-pki"  # demo mode only; printed in manifest.json beside the files it opens


@dataclass(frozen=True)
class DemoOrganization:
    """A demo healthcare organization: name, BIN, and its first head."""

    name: str
    bin: str
    head_surname: str
    head_given_name: str
    head_iin: str


@dataclass(frozen=True)
class DemoClinician:
    """A demo clinician employed by one demo organization; `revoked` puts the certificate on the CRL."""

    surname: str
    given_name: str
    iin: str
    organization: int
    revoked: bool = False


def _iin(birth: dt.date, sex: Sex, serial: int) -> str:
    while (value := make_iin(birth, sex, serial)) is None:
        serial += 1
    return value


def _bin(year: int, month: int, serial: int) -> str:
    while (value := make_bin(year, month, 4, 0, serial)) is None:
        serial += 1
    return value


def demo_people() -> tuple[list[DemoOrganization], list[DemoClinician]]:
    """Return the fixed demo organizations and clinicians (synthetic IINs and BINs with valid check digits)."""
    organizations = [
        DemoOrganization(
            "ГКП на ПХВ «Городская поликлиника № 1»",
            _bin(2008, 5, 1201),
            "ОМАРОВ",
            "БОЛАТ",
            _iin(dt.date(1970, 2, 3), Sex.MALE, 4121),
        ),
        DemoOrganization(
            "ТОО «Демо медицинский центр»",
            _bin(2015, 9, 3307),
            "ЖАКЫПОВА",
            "ГҮЛНАР",
            _iin(dt.date(1978, 11, 21), Sex.FEMALE, 5012),
        ),
    ]
    clinicians = [
        DemoClinician("АХМЕТОВА", "АЙГЕРИМ", _iin(dt.date(1985, 3, 14), Sex.FEMALE, 1203), 0),
        DemoClinician("СЕРГЕЕВ", "ИВАН", _iin(dt.date(1979, 7, 30), Sex.MALE, 2281), 0),
        DemoClinician("НҰРЛАНОВ", "ЕРЛАН", _iin(dt.date(1990, 1, 5), Sex.MALE, 3390), 1, revoked=True),
    ]
    return organizations, clinicians


CITIZEN_USERNAME = "demo-citizen"  # the demo citizen's account (emhana.devtools.demo creates it)


def make_citizen(
    ca: pki.Issued, *, surname: str, given_name: str, iin: str, not_before: dt.datetime, algorithm: str = "ec"
) -> pki.Issued:
    """Return an individual's SIGN certificate, as NCA RK issues to a person: SERIALNUMBER=IIN…, no organization
    (demo PKI, not NCA RK)."""
    subject = pki.name(cn=f"{surname} {given_name}", sn=surname, serial=f"IIN{iin}", c="KZ", gn=given_name)
    return pki.issue_certificate(
        subject,
        pki.new_key(algorithm),
        issuer=ca,
        not_before=not_before,
        days=365,
        key_usage=x509.KeyUsage(
            digital_signature=True,
            content_commitment=True,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        eku=(OID_EMAIL_PROTECTION, OID_NCA_INDIVIDUAL),
        crl_url=pki.CRL_URL,
    )


def write_citizen(
    session: Session, folder: Path, ca: pki.Issued, *, not_before: dt.datetime, username: str = CITIZEN_USERNAME
) -> dict[str, Path]:
    """Write the demo citizen's PKCS#12 file (``<username>.p12``, certificate with her person's IIN) into the demo
    PKI folder, so that she signs in with her EDS and signs her portal applications in the demo; return
    username -> file (empty when the account or its person is missing)."""
    account = session.scalar(select(Account).where(Account.username == username))
    person = session.get(Person, account.person_id) if account is not None and account.person_id else None
    if account is None or person is None:
        return {}
    issued = make_citizen(
        ca, surname=person.surname.upper(), given_name=person.given_name.upper(), iin=person.iin, not_before=not_before
    )
    path = folder / f"{username}.p12"
    path.write_bytes(pki.to_pkcs12(account.display_name, issued, [ca.certificate], DEMO_PASSWORD))
    return {username: path}


def write_demo(out: Path, *, now: dt.datetime, password: str = DEMO_PASSWORD, algorithm: str = "rsa") -> dict[str, Any]:
    """Write the demo PKI, scheme, lists and seals into `out` and return the manifest (also saved as manifest.json)."""
    out.mkdir(parents=True, exist_ok=True)
    start = now - dt.timedelta(days=1)
    files: dict[str, str] = {}

    def put(filename: str, data: bytes, what: str) -> None:
        (out / filename).write_bytes(data)
        files[filename] = what

    organizations, clinicians = demo_people()
    root = pki.make_root(not_before=start, algorithm=algorithm)
    inter = pki.make_intermediate(root, not_before=start, algorithm=algorithm)
    chain = [inter.certificate, root.certificate]
    put("root-ca.pem", root.pem(), "demo root CA (trust anchor for record signatures)")
    put("intermediate-ca.pem", inter.pem(), "demo intermediate CA (issues people's certificates and the CRL)")
    people: list[dict[str, Any]] = []
    for org in organizations:
        issued = pki.make_organization(
            inter,
            organization=org.name,
            bin_=org.bin,
            head_surname=org.head_surname,
            head_given_name=org.head_given_name,
            head_iin=org.head_iin,
            not_before=start,
            algorithm=algorithm,
        )
        put(
            f"organization-{org.bin}.p12",
            pki.to_pkcs12(org.name, issued, chain, password),
            f"organization certificate of {org.name} (OU=BIN{org.bin}), held by its first head",
        )
        people.append(
            {
                "kind": "organization",
                "bin": org.bin,
                "name": org.name,
                "serial": format(issued.certificate.serial_number, "x"),
                "revoked": False,
            }
        )
    revoked = []
    for c in clinicians:
        org = organizations[c.organization]
        issued = pki.make_clinician(
            inter,
            surname=c.surname,
            given_name=c.given_name,
            iin=c.iin,
            organization=org.name,
            bin_=org.bin,
            not_before=start,
            algorithm=algorithm,
        )
        put(
            f"clinician-{c.iin}.p12",
            pki.to_pkcs12(f"{c.surname} {c.given_name}", issued, chain, password),
            f"clinician SIGN certificate of {c.surname} {c.given_name} (SERIALNUMBER=IIN{c.iin})",
        )
        people.append(
            {
                "kind": "clinician",
                "iin": c.iin,
                "bin": org.bin,
                "name": f"{c.surname} {c.given_name}",
                "serial": format(issued.certificate.serial_number, "x"),
                "revoked": c.revoked,
            }
        )
        if c.revoked:
            revoked.append((issued.certificate, now - dt.timedelta(hours=1)))
    crl = pki.make_crl(inter, revoked, this_update=now, next_update=now + dt.timedelta(days=1), number=1)
    put("intermediate-ca.crl", crl.public_bytes(serialization.Encoding.DER), "CRL of the intermediate CA (DER)")

    scheme_ca = pki.make_scheme_ca(not_before=start)
    assert isinstance(scheme_ca.key, ec.EllipticCurvePrivateKey)
    put("scheme-ca.pem", scheme_ca.pem(), "seal scheme CA: the anchor verifiers pin for the trust lists")
    put("scheme-ca.p12", pki.to_pkcs12("scheme CA", scheme_ca, [], password), "seal scheme CA key (signs lists)")
    signers: list[seal.SealSigner] = []
    for org in organizations:
        dsc = pki.make_dsc(scheme_ca, facility_name=org.name, bin_=org.bin, not_before=start)
        assert isinstance(dsc.key, ec.EllipticCurvePrivateKey)
        signers.append(seal.SealSigner.of(dsc.key, dsc.certificate))
        put(f"dsc-{org.bin}.pem", dsc.pem(), f"document-signer certificate of {org.name}")
        put(
            f"dsc-{org.bin}.p12",
            pki.to_pkcs12(f"DSC {org.bin}", dsc, [scheme_ca.certificate], password),
            f"document-signer key of {org.name} (ES256)",
        )
    trust_list = build_trust_list(
        [
            TrustListSigner(s.certificate, s.facility_name, ("medbook.clearance", "attachment.notification"))
            for s in signers
        ],
        ca_key=scheme_ca.key,
        ca_certificate=scheme_ca.certificate,
        sequence=1,
        issued_at=now,
    )
    put("trust-list.json", json.dumps(trust_list, indent=1).encode(), "signed trust list of the DSCs")

    clearance = Clearance(
        "СЕЙТҚАЛИ ДАНА",
        dt.date(1995, 4, 12),
        ClearanceStatus.FIT,
        ("food",),
        ((Section.EXAM, (now - dt.timedelta(days=20)).date()), (Section.LAB, (now - dt.timedelta(days=22)).date())),
        1,
    )
    until = now + dt.timedelta(days=180)
    first = seal.issue(clearance, signer=signers[0], issued_at=now - dt.timedelta(hours=2), expires_at=until)
    corrected = replace(
        clearance, record_version=2, dates=(*clearance.dates, (Section.XRAY, (now - dt.timedelta(days=21)).date()))
    )
    current = seal.issue(corrected, signer=signers[0], issued_at=now - dt.timedelta(hours=1), expires_at=until)
    revocations = build_revocation_list(
        [revocation_of(first, Reason.SUPERSEDED, now - dt.timedelta(hours=1))],
        ca_key=scheme_ca.key,
        ca_certificate=scheme_ca.certificate,
        sequence=1,
        issued_at=now,
    )
    put("revocation-list.json", json.dumps(revocations, indent=1).encode(), "signed revocation list (hashes only)")
    put("seal.txt", current.encode() + b"\n", "a current medical-book seal (KZMB1:)")
    put("seal.png", seal.qr_png(current), "its QR code (PNG, level Q)")
    put("seal.svg", seal.qr_svg(current), "its QR code (SVG, level Q)")
    put("seal-v1-superseded.txt", first.encode() + b"\n", "the earlier version, superseded by the correction")
    manifest = {
        "password": password,
        "generated_at": now.isoformat(),
        "algorithm": algorithm,
        "note": "DEMO ONLY: not NCA RK certificates; the password is public.",
        "files": files,
        "people": people,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return manifest
