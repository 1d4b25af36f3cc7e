"""Seed the demo: migrate, generate a synthetic country, create one demo account per role, publish the seal
scheme's trust lists (`emhana trust init`) so the demo's seals verify on /verify, and write a demo PKI next to
the demo database whose certificates carry the demo clinician's and responsible therapist's IIN and their
organization's BIN, so that `emhana sign demo` and the desk's demo button sign the demo book's entries (demo only,
not NCA RK). The demo book's clearance and findings are signed with it when seeding (a seal needs a signed
clearance, C-06), all but one clinician's entry, left for a person to sign at the desk."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.accounts import clients
from emhana.accounts.admin import write_account
from emhana.accounts.models import Account, ClientApp
from emhana.accounts.policy import ORGANIZATION_ROLES
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import DEMO_PREFIX, Actor, actor_of, create_account
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.models import Attachment
from emhana.devtools import demo_clock, demo_people, pki_demo
from emhana.devtools.demo_banner import DEMO_CLIENT_ID, DEMO_CLIENT_JWKS, DEMO_CLIENT_KEY, DEMO_CLIENT_KID
from emhana.devtools.demo_banner import banner as banner
from emhana.devtools.demo_banner import journey_starts as journey_starts
from emhana.devtools.generator import medbooks as medbook_states
from emhana.devtools.generator.campaign import HistoryStats, replay
from emhana.devtools.generator.papers import write_papers
from emhana.devtools.generator.params import GeneratorParams
from emhana.devtools.pki_demo import DEMO_PASSWORD as PKI_PASSWORD
from emhana.facilities.models import Entity, Practitioner
from emhana.facilities.service import add_practitioner
from emhana.identity.models import LegalRepresentation, Person
from emhana.identity.rules import make_bin
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.kernel.migrate import upgrade
from emhana.medbook import appointments as medbook_appointments
from emhana.medbook import catalogue
from emhana.medbook import journal as medbook_journal
from emhana.medbook import service as medbook
from emhana.medbook.models import EmployerLink, JournalEntry, MedicalBook, ResponsibleAppointment
from emhana.medbook.rules import EntryKind, Language, Result
from emhana.medbook.schemas import AppointIn, BookIn, ClearanceIn, ClinicalKind, Decision, EntryIn
from emhana.trust.chain.links import seal_unlinked
from emhana.trust.keys import pki
from emhana.trust.scheme import publish, signers
from emhana.trust.signatures import demo as demo_signing
from emhana.trust.signatures.records import RecordKind
from emhana.trust.signatures.service import sign_record
from emhana.trust.signatures.truststore import TrustStore, from_demo_folder

DEMO_PASSWORD = "demo"
DEMO_GROUP = "catering"  # a cook of a school canteen; the 2015 scope is closed history (C-51)
DEMO_EMPLOYER_BIN = make_bin(2015, 3, 4, 0, 1234) or "150340001236"
SIGNER_ROLES = tuple(r for r in Role if may(r, Can.EXAMINE_FOR_MEDBOOK))  # they author the demo book's entries
CRL_DAYS = 30
NEIGHBOUR = f"{DEMO_PREFIX}neighbour"  # journey 2: a citizen who represents nobody
HISTORY_SHARE = 0.4  # drawn applications of the replayed campaign per person (two in three are filed)
HISTORY_MOST = 4_000
DEMO_CLIENT_SCOPES = clients.PUSH_AND_READ


class Generate(Protocol):
    """The synthetic generator as the demo runs it (generator.run_with_progress)."""

    def __call__(self, url: str, population: int, seed: int, *, params: GeneratorParams | None = None) -> object: ...


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    display_name: str


def _pick_family(session: Session, today: dt.date) -> tuple[Person | None, Person | None]:
    """Pick an adult and a child under five for the citizen demo when the generated people have no family."""
    adult = session.scalar(
        select(Person)
        .where(
            Person.birth_date <= today.replace(year=today.year - 25),
            Person.birth_date >= today.replace(year=today.year - 45),
            Person.death_date.is_(None),
        )
        .order_by(Person.id)
        .limit(1)
    )
    child = session.scalar(
        select(Person).where(Person.birth_date > today.replace(year=today.year - 5)).order_by(Person.id).limit(1)
    )
    return adult, child


def _demo_parent(session: Session, today: dt.date, existing: set[str]) -> Person | None:
    """Return the demo citizen's person: a parent of a child under 5 and of a child of 5-17 (demo_people), with an
    actual address other than the registration address; without generated families, an adult made the legal
    representative of a child under 5 on a birth certificate."""
    if f"{DEMO_PREFIX}citizen" in existing:
        account = _account(session, Role.CITIZEN)
        return session.get(Person, account.person_id) if account and account.person_id else None
    family = demo_people.pick_family(session, today, demo_people.citizen_person_ids(session))
    if family is not None:
        demo_people.give_actual_address(session, family, today)
        return family.parent
    adult, child = _pick_family(session, today)
    if adult is not None and child is not None:
        session.add(
            LegalRepresentation(
                representative_id=adult.id,
                represented_id=child.id,
                basis="parent",
                document_kind="birth_certificate",
                document_number="I-АЛ 0000001",
                basis_document="birth certificate (demo)",
                valid_from=child.birth_date,
                valid_to=child.birth_date.replace(year=child.birth_date.year + 18),
            )
        )
    return adult


def create_demo_accounts(session: Session, today: dt.date | None = None) -> list[DemoLogin]:
    """Create demo-<role> accounts (password ``demo``) tied to generated people and entities, and demo-neighbour,
    a citizen of the demo citizen's settlement who represents nobody (journey 2)."""
    today = today or clock.today()
    existing = set(session.scalars(select(Account.username).where(Account.username.like(f"{DEMO_PREFIX}%"))))
    entity_id = session.scalar(select(Entity.id).order_by(Entity.id).limit(1))
    adult = _demo_parent(session, today, existing)
    logins = []
    for role in Role:
        username = f"{DEMO_PREFIX}{role.value.replace('_', '-')}"
        staff = role in ORGANIZATION_ROLES  # the demo MIS client works for the first clinic too
        person_id = adult.id if role is Role.CITIZEN and adult is not None else None
        name = (
            f"{adult.surname} {adult.given_name}"
            if role is Role.CITIZEN and adult is not None
            else f"Demo {role.value.replace('_', ' ')}"
        )
        if username not in existing:
            create_account(
                session=session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=name,
                person_id=person_id,
                entity_id=entity_id if staff else None,
            )
        logins.append(DemoLogin(username, role, name))
    neighbour = _neighbour(session, adult, today, existing)
    if neighbour is not None:
        logins.append(neighbour)
    return logins


def _neighbour(session: Session, adult: Person | None, today: dt.date, existing: set[str]) -> DemoLogin | None:
    if NEIGHBOUR in existing:
        account = session.scalar(select(Account).where(Account.username == NEIGHBOUR))
        return DemoLogin(NEIGHBOUR, Role.CITIZEN, account.display_name) if account else None
    person = (
        demo_people.pick_neighbour(session, adult, today, demo_people.citizen_person_ids(session))
        if adult is not None
        else None
    )
    if person is None:
        return None
    name = f"{person.surname} {person.given_name}"
    create_account(
        session=session,
        username=NEIGHBOUR,
        password=DEMO_PASSWORD,
        role=Role.CITIZEN,
        display_name=name,
        person_id=person.id,
    )
    return DemoLogin(NEIGHBOUR, Role.CITIZEN, name)


def pki_folder(url: str) -> Path | None:
    """Return the folder of the demo PKI next to a SQLite demo database (None for other databases)."""
    return demo_signing.pki_folder(url)


def server_settings(url: str) -> Settings:
    """Return the settings of the demo server: its SQLite database in demo mode, trusting the demo PKI for
    record signatures where the environment names no anchors, CRLs or intermediates of its own."""
    given = Settings(database_url=url, demo_mode=True)
    folder = pki_folder(url)
    if folder is None or not (folder / "root-ca.pem").exists():
        return given
    demo_pki = {
        "demo_pki": str(folder),
        "signature_anchors": str(folder / "root-ca.pem"),
        "signature_crls": str(folder / "intermediate-ca.crl"),
        "signature_intermediates": str(folder / "intermediate-ca.pem"),
    }
    unset = {name: value for name, value in demo_pki.items() if name not in given.model_fields_set}
    return given.model_copy(update=unset)


def give_signers_persons(session: Session) -> None:
    """Tie the demo clinician and responsible therapist to generated adults (a signature carries the signer's
    IIN, C-06); never the citizen's person nor one another account has."""
    taken = set(session.scalars(select(Account.person_id).where(Account.person_id.is_not(None))))
    for role in SIGNER_ROLES:
        account = _account(session, role)
        if account is None or account.person_id is not None:
            continue
        person = session.scalar(
            select(Person)
            .where(
                Person.death_date.is_(None), Person.id.not_in(taken or {0}), Person.birth_date <= dt.date(2000, 1, 1)
            )
            .order_by(Person.id)
            .limit(1)
        )
        if person is None:
            return
        account.person_id = person.id
        taken.add(person.id)


def bind_mis_client(session: Session) -> None:
    """Bind demo-mis-client to the demo staff's clinic when an older demo database left it bound to none (an MIS
    acts for one organization: unbound, every FHIR push is refused with 403)."""
    mis, therapist = _account(session, Role.MIS_CLIENT), _account(session, Role.RESPONSIBLE_THERAPIST)
    if mis is None or mis.entity_id is not None or therapist is None or therapist.entity_id is None:
        return
    mis.entity_id = therapist.entity_id
    write_account(session, mis, action="account.role_changed", actor=None)


def register_signers(session: Session, day: dt.date) -> list[Practitioner]:
    """Register the demo's signing clinicians (clinician, responsible therapist) as practitioners of their clinic,
    by their person's IIN, so that a bundle they sign passes "author registered" (idempotent)."""
    admin = _account(session, Role.ENTITY_ADMIN)
    done = []
    for role in SIGNER_ROLES:
        account = _account(session, role)
        person = session.get(Person, account.person_id) if account and account.person_id else None
        if account is None or person is None or account.entity_id is None:
            continue
        known = session.scalar(select(Practitioner).where(Practitioner.iin == person.iin))
        if known is not None:
            done.append(known)
            continue
        done.append(
            add_practitioner(
                session=session,
                actor=actor_of(admin) if admin is not None else actor_of(account),
                iin=person.iin,
                surname=person.surname,
                given_name=person.given_name,
                patronymic=person.patronymic,
                specialties=["therapist"],
                entity_id=account.entity_id,
                site_id=None,
                title="врач-терапевт",
                rate=1.0,
                valid_from=day - dt.timedelta(days=365),
            )
        )
    return done


def _client_key_pem() -> bytes:
    """A fresh EC P-384 private key (ES384, as SMART Backend Services requires) in unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_jwks(key_pem: bytes, kid: str) -> str:
    """The JWK set of the public half of an EC P-384 private key, to register for the client."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the demo client's key is not an EC key")
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(48, "big")).rstrip(b"=").decode()

    jwk = {
        "kty": "EC",
        "crv": "P-384",
        "x": b64(numbers.x),
        "y": b64(numbers.y),
        "kid": kid,
        "alg": "ES384",
        "use": "sig",
    }
    return json.dumps({"keys": [jwk]}, indent=1)


def register_demo_client(session: Session, folder: Path) -> ClientApp | None:
    """Register the demo's client application (``DEMO_CLIENT_ID``) for the demo staff's clinic, acting through
    demo-mis-client (so both of the banner's push commands write as the same MIS), with an EC P-384 key pair
    written into the demo folder (``demo-mis-app.key.pem``, its public JWK set beside it) and the scopes to push
    results and read; a key already there is kept (idempotent)."""
    mis = _account(session, Role.MIS_CLIENT)
    if mis is None or mis.entity_id is None:
        return None
    key_path, jwks_path = folder / DEMO_CLIENT_KEY, folder / DEMO_CLIENT_JWKS
    if not key_path.exists() or not jwks_path.exists():
        key_path.write_bytes(_client_key_pem())
        jwks_path.write_text(_public_jwks(key_path.read_bytes(), DEMO_CLIENT_KID), encoding="utf-8")
    jwks = jwks_path.read_text(encoding="utf-8")
    client = session.scalar(select(ClientApp).where(ClientApp.client_id == DEMO_CLIENT_ID))
    if client is None:
        return clients.register(
            session=session,
            actor=None,
            new=clients.NewClient(
                name="Demo MIS",
                entity_id=mis.entity_id,
                jwks=jwks,
                scopes=DEMO_CLIENT_SCOPES,
                client_id=DEMO_CLIENT_ID,
                account_id=mis.id,  # one MIS, two ways to a token: its password (demo) and its key
            ),
        )
    if client.active and clients.parse_jwks(jwks) != client.jwks:
        clients.set_keys(session=session, actor=None, client=client, jwks=jwks)
    return client


def write_pki(
    session: Session, folder: Path, *, now: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, Path]:
    """Write the demo PKI (EC keys: fast) into ``folder``: root and intermediate CA, a CRL, and a PKCS#12 file per
    demo signer whose certificate carries its person's IIN and its entity's BIN; return username -> file. The
    certificates are valid from the day before ``now`` and the CRL is current from ``now`` to CRL_DAYS after
    ``until`` (the demo clock and the machine's, whichever is earlier and later: a CMS carries the machine's
    signing time, checked against the certificates; the CRL is checked at the clock's time)."""
    moment = now or clock.now()
    start = moment - dt.timedelta(days=1)
    root = pki.make_root(not_before=start, algorithm="ec")
    inter = pki.make_intermediate(root, not_before=start, algorithm="ec")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root-ca.pem").write_bytes(root.pem())
    (folder / "intermediate-ca.pem").write_bytes(inter.pem())
    last = max(moment, until or moment)
    crl = pki.make_crl(inter, [], this_update=moment, next_update=last + dt.timedelta(days=CRL_DAYS), number=1)
    from cryptography.hazmat.primitives import serialization

    (folder / "intermediate-ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    files: dict[str, Path] = {}
    people = []
    for role in SIGNER_ROLES:
        account = _account(session, role)
        person = session.get(Person, account.person_id) if account and account.person_id else None
        entity = session.get(Entity, account.entity_id) if account and account.entity_id else None
        if account is None or person is None or entity is None:
            continue
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
        path = folder / f"{account.username}.p12"
        path.write_bytes(pki.to_pkcs12(account.display_name, issued, [inter.certificate], PKI_PASSWORD))
        files[account.username] = path
        people.append({"username": account.username, "file": path.name, "bin": entity.bin})
    files.update(pki_demo.write_citizen(session, folder, inter, not_before=start))  # her EDS (issue 16, item 6)
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "note": (
                    "DEMO ONLY: a PKI shaped like NCA RK's for `emhana sign demo`; not a real certificate authority"
                ),
                "password": PKI_PASSWORD,
                "signers": people,
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return files


def init_trust(session: Session) -> None:
    """Create the seal scheme's CA once and publish the signed trust and revocation lists (`emhana trust init`)."""
    signers.ensure_scheme(session)
    publish.changed(session)


def signing_help(url: str) -> list[str]:
    """Return the lines of the demo banner that tell where the PKCS#12 files are and how to sign an entry."""
    folder = pki_folder(url)
    if folder is None or not (folder / "manifest.json").exists():
        return []
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            clinician = _account(s, Role.CLINICIAN)
            book = s.scalar(
                select(MedicalBook).where(
                    MedicalBook.person_id
                    == select(Account.person_id).where(Account.username == f"{DEMO_PREFIX}citizen").scalar_subquery()
                )
            )
            entry = (
                s.scalar(
                    select(JournalEntry.id)
                    .where(
                        JournalEntry.book_id == book.id,
                        JournalEntry.author_account_id == clinician.id,
                        JournalEntry.signature_state == "pending",
                    )
                    .order_by(JournalEntry.id)
                    .limit(1)
                )
                if book is not None and clinician is not None
                else None
            )
    finally:
        engine.dispose()
    lines = [f"Demo signing (demo PKI, not NCA RK): PKCS#12 files in {folder} (password {PKI_PASSWORD})"]
    if clinician is not None and entry is not None:
        lines.append(
            f"  sign entry {entry} of the demo book: emhana sign demo --p12 "
            f"{folder / (clinician.username + '.p12')} --kind medbook_entry --id {entry} "
            f"--trust-dir {folder} --database-url {url}"
        )
    return lines


def demo_day(url: str, real_today: dt.date | None = None) -> dt.date:
    """Return the day `emhana demo` runs on when none is given: inside an open campaign period (demo_clock)."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return demo_clock.default_day(s, real_today)
    finally:
        engine.dispose()


def start_clock(day: dt.date) -> clock.use:
    """Put the demo clock in use for the process: standing on ``day`` (10:00, or now when it is today) and ticking
    from now; the returned ``clock.use`` puts the previous clock back when used as a ``with`` block (tests)."""
    return clock.use(demo_clock.Ticking(demo_clock.start_of(day)))


def seed(
    url: str,
    *,
    population: int,
    seed_value: int,
    generate: Generate | None = None,
    today: dt.date | None = None,
) -> list[DemoLogin]:
    """Migrate the database; if it is empty, generate the synthetic country with the papers the state databases
    hold (documents, addresses, families); create demo accounts, publish the trust lists, write the demo PKI next
    to a SQLite demo database, and, on a fresh database, open medical books in every state and replay the campaign
    up to the demo day. Everything is written under a clock standing on ``today`` (default: the process clock's
    today) at the hour the demo clock starts (``demo_clock.start_of``); `emhana demo` passes the day it serves
    on (``demo_day``)."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        empty = not s.scalar(select(func.count()).select_from(Person))
        day = today or clock.today()
        level = policy_for(s, day).atu_level
    fresh = empty and generate is not None
    with clock.use(clock.Fixed(demo_clock.start_of(day))):
        if fresh and generate is not None:
            generate(url, population, seed_value, params=GeneratorParams(as_of=dt.date(day.year, 1, 1)))
            with engine.begin() as conn:
                write_papers(conn, as_of=day, seed=seed_value, level=level)
                seal_unlinked(conn)  # the generator's COPY writes no chain links: link its rows now
        folder = pki_folder(url)
        with unit_of_work(sessions) as s:
            logins = create_demo_accounts(s, day)
            fund = _account(s, Role.FUND_ADMIN)
            demo_clock.ensure_policy(s, day, actor_of(fund) if fund is not None else None)
            give_signers_persons(s)
            bind_mis_client(s)
            register_signers(s, day)
            init_trust(s)
            if folder is not None:
                write_pki(
                    s, folder, now=min(clock.now(), clock.SYSTEM.now()), until=max(clock.now(), clock.SYSTEM.now())
                )
                register_demo_client(s, folder)
            if fresh:  # before the demo citizen's book: its therapist was appointed long before the demo day
                medbook_states.seed_states(s, day=day, folder=folder, taken=demo_people.citizen_person_ids(s))
            seed_medbook(s, folder=folder)
        if fresh:
            with unit_of_work(sessions) as s:
                seed_history(s, day, seed_value, min(HISTORY_MOST, int(population * HISTORY_SHARE)))
    engine.dispose()
    return logins


def seed_history(session: Session, day: dt.date, seed_value: int, total: int) -> HistoryStats:
    """Replay the campaign of the demo day's year up to the day (generator.campaign), leaving out the people of the
    journeys and the organizations of the demo's staff."""
    fund = _account(session, Role.FUND_ADMIN)
    keep_out = demo_people.citizen_person_ids(session)
    for account_person in list(keep_out):
        keep_out |= {
            r.represented_id
            for r in session.scalars(
                select(LegalRepresentation).where(LegalRepresentation.representative_id == account_person)
            )
        }
    staff = demo_people.demo_entities(session)
    pensioner = demo_people.pick_pensioner(session, min(staff, default=None), day, keep_out)
    if pensioner is not None:
        keep_out.add(pensioner.id)
    return replay(
        session,
        policy=policy_for(session, day),
        until=day,
        seed=seed_value,
        total=total,
        keep_out=keep_out,
        keep_entities=staff | _citizen_entities(session, keep_out),
        fund=actor_of(fund) if fund is not None else None,
        queue_at=min(staff, default=None),
    )


def _citizen_entities(session: Session, people: set[int]) -> set[int]:
    """The organizations the journeys' people are attached to (kept in the database while history is replayed)."""
    return set(
        session.scalars(
            select(Attachment.entity_id).where(Attachment.person_id.in_(people or {0}), Attachment.end_date.is_(None))
        )
    )


def _account(session: Session, role: Role) -> Account | None:
    return session.scalar(select(Account).where(Account.username == f"{DEMO_PREFIX}{role.value.replace('_', '-')}"))


def seed_medbook(session: Session, now: dt.datetime | None = None, *, folder: Path | None = None) -> MedicalBook | None:
    """Show medical books in the demo: appoint demo-responsible-therapist, issue the demo citizen's book with a
    clean public-catering scope and a granted clearance, signed with the demo PKI in ``folder`` when given (all but
    one clinician's entry), and link demo-employer to the book's BIN (idempotent)."""
    now = now or clock.now()
    day = medbook.local_day(now)
    therapist, clinician, admin, citizen, employer, fund = (
        _account(session, r)
        for r in (
            Role.RESPONSIBLE_THERAPIST,
            Role.CLINICIAN,
            Role.ENTITY_ADMIN,
            Role.CITIZEN,
            Role.EMPLOYER,
            Role.FUND_ADMIN,
        )
    )
    if therapist is None or clinician is None or admin is None or citizen is None or citizen.person_id is None:
        return None
    entity_id = therapist.entity_id
    if entity_id is None or not medbook.issuer_eligible(session=session, entity_id=entity_id, day=day):
        return None
    rt = actor_of(therapist)
    current = medbook_appointments.responsible_on(session=session, entity_id=entity_id, day=day)
    if current is None or current.account_id != therapist.id:
        opened = session.scalar(
            select(ResponsibleAppointment.valid_from).where(
                ResponsibleAppointment.entity_id == entity_id, ResponsibleAppointment.valid_to.is_(None)
            )
        )
        if opened is not None and opened >= day:
            return None
        medbook_appointments.appoint(
            session=session,
            actor=actor_of(admin),
            entity_id=entity_id,
            data=AppointIn(account_id=therapist.id, valid_from=day),
            now=now,
        )
    book = session.scalar(select(MedicalBook).where(MedicalBook.person_id == citizen.person_id))
    if book is None:
        person = session.get(Person, citizen.person_id)
        if person is None:
            return None
        book = medbook.issue(
            session=session,
            actor=rt,
            now=now,
            data=BookIn(
                iin=person.iin,
                profession="повар",
                position="повар школьной столовой",
                workplace="Школа-лицей №5, столовая",
                employer_bin=DEMO_EMPLOYER_BIN,
                group_code=DEMO_GROUP,
                language=Language.RU,
            ),
        )
    if (
        book.entity_id == entity_id
        and medbook.latest_clearance(medbook.current_entries(session=session, book_id=book.id)) is None
    ):
        _clean_scope(session, book, actor_of(clinician), now)
        medbook_journal.decide_clearance(
            session=session,
            actor=rt,
            book_id=book.id,
            now=now,
            data=ClearanceIn(decision=Decision.GRANTED, note="demo"),
        )
        if folder is not None:
            sign_demo_book(session, book, folder)
    if employer is not None and fund is not None and session.get(EmployerLink, employer.id) is None:
        medbook.link_employer(
            session=session, actor=actor_of(fund), account_id=employer.id, bin_=book.employer_bin, now=now
        )
    return book


def _clean_scope(session: Session, book: MedicalBook, actor: Actor, now: dt.datetime) -> None:
    """Record a normal or negative result for every required item of the book's group not yet recorded."""
    day = medbook.local_day(now)
    person = session.get(Person, book.person_id)
    group = catalogue.rule_of(catalogue.in_force(session=session, code=book.group_code, day=day))
    done = set(session.scalars(select(JournalEntry.item_code).where(JournalEntry.book_id == book.id)))
    performed = day - dt.timedelta(days=3)
    for req in group.requirements:
        if req.code in done or (req.female_only and (person is None or person.sex != "female")):
            continue
        result = Result.NORMAL if req.kind is EntryKind.SPECIALIST_EXAM else Result.NEGATIVE
        medbook_journal.record(
            session=session,
            actor=actor,
            book_id=book.id,
            now=now,
            data=EntryIn(kind=ClinicalKind(req.kind.value), item_code=req.code, performed_on=performed, result=result),
        )


def sign_demo_book(session: Session, book: MedicalBook, folder: Path) -> int:
    """Sign the demo book's unsigned entries with their authors' demo PKCS#12 files, verified against the demo PKI
    as any signature is, all but the clinician's first entry (left for the desk's sign button); return how many."""
    trust = from_demo_folder(folder)
    entries = list(
        session.scalars(
            select(JournalEntry)
            .where(JournalEntry.book_id == book.id, JournalEntry.signature_state == "pending")
            .order_by(JournalEntry.id)
        )
    )
    clinician = _account(session, Role.CLINICIAN)
    left = next((e.id for e in entries if clinician is not None and e.author_account_id == clinician.id), None)
    count = 0
    # A CMS carries the machine's signing time, which must not be after the clock: a demo day in the past signs now.
    with clock.use(clock.Fixed(max(clock.now(), clock.SYSTEM.now()))):
        count = _sign_entries(session, entries, folder, trust, left)
    return count


def _sign_entries(
    session: Session, entries: list[JournalEntry], folder: Path, trust: TrustStore, left: int | None
) -> int:
    count = 0
    for entry in entries:
        author = session.get(Account, entry.author_account_id) if entry.author_account_id else None
        path = demo_signing.pkcs12_path(folder, author.username) if author is not None else None
        if entry.id == left or author is None or path is None:
            continue
        sign_record(
            session,
            RecordKind.MEDBOOK_ENTRY,
            entry.id,
            pkcs12=path.read_bytes(),
            password=PKI_PASSWORD,
            actor=actor_of(author),
            trust=trust,
        )
        count += 1
    return count
