"""The medical-book journeys of JOURNEYS.md (5–9, 11) in a real browser: the demo database with the people the demo
lacks (a cook with an account and no book yet, a second clinic's responsible therapist with a demo signing key, an
individual entrepreneur's café as employer, a registrar at the clinic the demo citizen is referred to, the demo
clinician registered as a practitioner), the clinic's MIS posting FHIR bundles signed with the demo PKI, and a seal
altered by a forger. Added in the test's own setup through the database URL, before the server starts."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import actor_of, create_account
from emhana.facilities.models import Entity, Practitioner
from emhana.fhir import systems
from emhana.fhir.models import CodeMap
from emhana.identity.models import Person, PersonAddress
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.medbook import access, catalogue
from emhana.medbook import service as medbook
from emhana.medbook.models import MedicalBook, ResponsibleAppointment
from emhana.medbook.referral import referral_target
from emhana.medbook.rules import EntryKind
from emhana.trust.keys import pki
from emhana.trust.seals.kzmb1 import decode_transport, encode_transport
from tests.builders.fhir import Signer, bundle, condition, observation, xray

COOK = "journey-cook"  # the cook of journeys 5, 6, 8, 9 and 11 (a citizen account, password "demo")
THERAPIST_2 = "journey-therapist-2"  # the responsible therapist of the second clinic (journey 11)
CAFE = "journey-cafe"  # the individual entrepreneur who runs the café (journey 11)
PHC_REGISTRAR = "journey-phc-registrar"  # a registrar of the clinic the demo citizen is referred to (journey 7)
CAFE_IIN = "880315301280"  # the entrepreneur's IIN: her café is named by it (journey 11)
PKI_PASSWORD = b"demo-pki"
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Worker:
    """A worker as the journeys check her: by IIN at the desk, by name and birth date on the verifier."""

    iin: str
    surname: str
    given_name: str
    birth_date: dt.date


@dataclass(frozen=True)
class JourneyWorld:
    """What the journeys need to know of the demo database: who is who, and where the demo PKI lies."""

    url: str
    pki: Path
    citizen: Worker
    cook: Worker
    clinician_iin: str  # the demo clinician, a registered practitioner: the author of the MIS's results
    clinic: str  # the demo clinic (name in Russian)
    clinic_kk: str
    second_clinic: str  # the second clinic (name in Russian)
    receiving_clinic: str  # where the demo citizen is referred to after an infection finding (name in Russian)
    receiving_clinic_kk: str
    cook_receiving_clinic: str  # where the cook is referred to after an infection finding (name in Russian)
    required: tuple[tuple[str, str], ...]  # (kind, item) the cook's group requires, that the MIS can send
    unmapped: tuple[tuple[str, str], ...]  # (kind, item) it requires that no local code maps: recorded at the desk


def local_today() -> dt.date:
    """Today in Kazakhstan (the book's days)."""
    return dt.datetime.now(KZ_TIME).date()


def _account(s: Session, username: str) -> Account:
    account = s.scalar(select(Account).where(Account.username == username))
    assert account is not None, username
    return account


def _person(p: Person) -> Worker:
    return Worker(p.iin, p.surname, p.given_name, p.birth_date)


def _pick_cook(s: Session, today: dt.date) -> Person:
    """A woman of 20 to 50 with a home address, no account and no book: the cook of the journeys."""
    taken = set(s.scalars(select(Account.person_id).where(Account.person_id.is_not(None))))
    booked = set(s.scalars(select(MedicalBook.person_id)))
    homes = set(s.scalars(select(PersonAddress.person_id)))
    for person in s.scalars(
        select(Person)
        .where(
            Person.sex == "female",
            Person.death_date.is_(None),
            Person.birth_date <= today.replace(year=today.year - 20),
            Person.birth_date >= today.replace(year=today.year - 50),
        )
        .order_by(Person.id)
    ):
        if person.id not in taken and person.id not in booked and person.id in homes:
            return person
    raise AssertionError("the demo has no woman to be the cook")


def _pick_adult(s: Session) -> int:
    """An adult no account is tied to and without a book."""
    taken = set(s.scalars(select(Account.person_id).where(Account.person_id.is_not(None))))
    taken |= set(s.scalars(select(MedicalBook.person_id)))
    for person in s.scalars(
        select(Person)
        .where(Person.death_date.is_(None), Person.birth_date <= dt.date(1995, 1, 1))
        .order_by(Person.id.desc())
    ):
        if person.id not in taken:
            return person.id
    raise AssertionError("the demo has no adult left")


def rewrite_pki(s: Session, folder: Path, usernames: tuple[str, ...]) -> None:
    """Write the demo PKI again (a new root, intermediate and CRL; EC keys) with a PKCS#12 file for each named
    signer: the demo writes files for its own demo accounts only (demo PKI, not NCA RK)."""
    from cryptography.hazmat.primitives import serialization

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    root = pki.make_root(not_before=start, algorithm="ec")
    inter = pki.make_intermediate(root, not_before=start, algorithm="ec")
    crl = pki.make_crl(inter, [], this_update=start, next_update=start + dt.timedelta(days=30), number=2)
    (folder / "root-ca.pem").write_bytes(root.pem())
    (folder / "intermediate-ca.pem").write_bytes(inter.pem())
    (folder / "intermediate-ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    for username in usernames:
        account = _account(s, username)
        person = s.get(Person, account.person_id)
        entity = s.get(Entity, account.entity_id)
        assert person is not None and entity is not None, username
        issued = pki.make_clinician(
            inter,
            surname=person.surname.upper(),
            given_name=person.given_name.upper(),
            iin=person.iin,
            organization=entity.name_ru,
            bin_=entity.bin,
            not_before=start,
            algorithm="ec",
        )
        pkcs = pki.to_pkcs12(account.display_name, issued, [inter.certificate], PKI_PASSWORD.decode())
        (folder / f"{username}.p12").write_bytes(pkcs)


def prepare(url: str, pki: Path) -> JourneyWorld:
    """Add to a seeded demo database the people the journeys need; return who is who."""
    today = local_today()
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            citizen = _account(s, "demo-citizen")
            clinician = _account(s, "demo-clinician")
            fund = actor_of(_account(s, "demo-fund-admin"))
            clinic = s.get(Entity, clinician.entity_id)
            assert clinic is not None and citizen.person_id is not None and clinician.person_id is not None
            citizen_person = s.get(Person, citizen.person_id)
            author = s.get(Person, clinician.person_id)
            assert citizen_person is not None and author is not None
            if s.scalar(select(Practitioner.id).where(Practitioner.iin == author.iin)) is None:
                s.add(
                    Practitioner(
                        iin=author.iin, surname=author.surname, given_name=author.given_name, specialties="therapist"
                    )
                )
            cook = _pick_cook(s, today)
            create_account(
                session=s,
                username=COOK,
                password="demo",
                role=Role.CITIZEN,
                display_name=f"{cook.surname} {cook.given_name}",
                person_id=cook.id,
            )
            # A second licensed clinic with its own responsible therapist (journey 11).
            second = next(
                e
                for e in s.scalars(select(Entity).where(Entity.id != clinic.id).order_by(Entity.id))
                if access.licensed_and_registered(session=s, entity_id=e.id, day=today)
            )
            therapist = create_account(
                session=s,
                username=THERAPIST_2,
                password="demo",
                role=Role.RESPONSIBLE_THERAPIST,
                display_name="Demo responsible therapist 2",
                entity_id=second.id,
                person_id=_pick_adult(s),  # her signature carries her IIN (C-06)
            )
            s.add(
                ResponsibleAppointment(
                    entity_id=second.id,
                    account_id=therapist.id,
                    valid_from=today - dt.timedelta(days=30),
                    appointed_at=dt.datetime.now(dt.UTC),
                )
            )
            # The café's owner, an individual entrepreneur named by her IIN (journey 11).
            cafe = create_account(
                session=s, username=CAFE, password="demo", role=Role.EMPLOYER, display_name="Demo café (ИП)"
            )
            medbook.link_employer(session=s, actor=fund, account_id=cafe.id, bin_=CAFE_IIN, now=dt.datetime.now(dt.UTC))
            # A registrar of the PHC clinic the demo citizen is attached to (journey 7).
            target_id = referral_target(session=s, person_id=citizen.person_id, day=today)
            assert target_id is not None, "the demo citizen has no PHC clinic to be referred to"
            target = s.get(Entity, target_id)
            assert target is not None
            create_account(
                session=s,
                username=PHC_REGISTRAR,
                password="demo",
                role=Role.REGISTRAR,
                display_name="Demo PHC registrar",
                entity_id=target.id,
            )
            cook_target = s.get(Entity, referral_target(session=s, person_id=cook.id, day=today) or 0)
            assert cook_target is not None, "the cook has no PHC clinic to be referred to"
            group = catalogue.rule_of(catalogue.in_force(session=s, code="catering", day=today))
            required = tuple(
                (r.kind.value, r.code) for r in group.requirements if r.sex is None or r.sex.value == cook.sex
            )
            mapped = set(s.scalars(select(CodeMap.item_code).where(CodeMap.system == systems.ITEM, CodeMap.active)))
            s.flush()
            rewrite_pki(s, pki, ("demo-clinician", "demo-responsible-therapist", THERAPIST_2))
            world = JourneyWorld(
                url=url,
                pki=pki,
                citizen=_person(citizen_person),
                cook=_person(cook),
                clinician_iin=author.iin,
                clinic=clinic.name_ru,
                clinic_kk=clinic.name_kk,
                second_clinic=second.name_ru,
                receiving_clinic=target.name_ru,
                receiving_clinic_kk=target.name_kk,
                cook_receiving_clinic=cook_target.name_ru,
                required=tuple(r for r in required if r[1] in mapped),
                unmapped=tuple(r for r in required if r[1] not in mapped),
            )
    finally:
        engine.dispose()
    return world


# --- The clinic's MIS -----------------------------------------------------------------------------------------


def _request(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # the local test server
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def mis_token(base: str) -> str:
    """Sign the demo MIS client in (its password, as the demo gives it); return its bearer token."""
    form = urllib.parse.urlencode({"username": "demo-mis-client", "password": "demo"}).encode()
    status, token = _request(f"{base}/api/v1/auth/token", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, token
    return str(token["access_token"])


def author(world: JourneyWorld) -> Signer:
    """The demo clinician's signing key, as the MIS holds it on her behalf (demo PKI, not NCA RK)."""
    data = (world.pki / "demo-clinician.p12").read_bytes()
    key, cert, chain = pkcs12.load_key_and_certificates(data, PKI_PASSWORD)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) and cert is not None
    return Signer(world.clinician_iin, key, cert, tuple(chain))


def result(iin: str, kind: str, item: str, on: dt.date, *, positive: bool = False) -> dict[str, Any]:
    """One result as the MIS sends it: an X-ray as a DiagnosticReport, anything else as an Observation coded with
    the catalogue's item."""
    if kind == EntryKind.XRAY.value:
        return xray(iin, on=on.isoformat())
    if kind == EntryKind.SPECIALIST_EXAM.value:
        interpretation = "A" if positive else "N"
    else:
        interpretation = "POS" if positive else "NEG"
    return observation(iin, code=item, system=systems.ITEM, interpretation=interpretation, on=on.isoformat())


def diagnosis(iin: str, icd: str, on: dt.date) -> dict[str, Any]:
    """An active diagnosis as the MIS sends it: a Condition with clinicalStatus active."""
    return condition(iin, icd=icd, on=on.isoformat(), clinical="active", verification="confirmed")


def post_results(base: str, token: str, world: JourneyWorld, resources: list[dict[str, Any]]) -> Any:
    """POST a transaction Bundle signed by the demo clinician to /fhir/R4 as the demo MIS; return its response."""
    doc = bundle(resources, signer=author(world))
    headers = {
        "Content-Type": FHIR_JSON,
        "Accept": FHIR_JSON,
        "Authorization": f"Bearer {token}",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    status, answer = _request(f"{base}/fhir/R4", json.dumps(doc, ensure_ascii=False).encode(), headers)
    assert status == 200, answer
    return answer


# --- Seals ----------------------------------------------------------------------------------------------------


def altered(text: str) -> str:
    """The seal with one bit of its signature flipped, as a forger's copy would be."""
    cose = decode_transport(text)
    return encode_transport(cose[:-1] + bytes([cose[-1] ^ 1]))[2]
