"""Personal medical books in every state for the demo (docs/domain.md §3): cleared, expired, suspended after a positive
test with a referral to the worker's PHC clinic (C-30), refused, and granted but awaiting the therapist's signature.

Written through the medical book's own services at the demo's responsible therapist's clinic, at moments before the
demo day (the process clock is set to each), and signed with the demo PKI where the book's state needs a signature
(a grant counts once signed, C-06). The workers are generated adults of a school canteen's kitchen, employed by a
catering company of their own (not demo-employer's, whose one worker is the demo citizen).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import DEMO_PREFIX, Actor, actor_of
from emhana.attachment.models import Attachment
from emhana.devtools.pki_demo import DEMO_PASSWORD as PKI_PASSWORD
from emhana.identity.models import IdentityDocument, Person
from emhana.identity.rules import make_bin
from emhana.kernel import clock
from emhana.medbook import appointments, catalogue, journal
from emhana.medbook import service as medbook
from emhana.medbook.models import JournalEntry, MedicalBook, ResponsibleAppointment
from emhana.medbook.rules import EntryKind, Language, Result
from emhana.medbook.schemas import AppointIn, BookIn, ClearanceIn, ClinicalKind, Decision, EntryIn
from emhana.trust.signatures import demo as demo_signing
from emhana.trust.signatures.records import RecordKind
from emhana.trust.signatures.service import sign_record
from emhana.trust.signatures.truststore import from_demo_folder

GROUP = "catering"
EMPLOYER_BIN = make_bin(2018, 6, 4, 0, 4321) or "180640004321"
PER_STATE = 2
STATES = ("cleared", "expired", "suspended", "refused", "awaiting_signature")
# Days before the demo day each state's book was examined (the expired one's clearance has run out since).
EXAMINED = {"cleared": 20, "expired": 400, "suspended": 60, "refused": 10, "awaiting_signature": 2}
APPOINTED = 800  # the responsible therapist has been appointed since (days before the demo day)
WORK = ("повар", "повар-кондитер", "ООО «Таза Ас», столовая школы-гимназии №8")


@dataclass
class BookStats:
    books: dict[str, int] = field(default_factory=dict)
    signed: int = 0


def _account(session: Session, role: Role) -> Account | None:
    return session.scalar(select(Account).where(Account.username == f"{DEMO_PREFIX}{role.value.replace('_', '-')}"))


def _workers(session: Session, day: dt.date, taken: set[int], count: int) -> list[Person]:
    """Adults of 20-55 with a valid ID card and a PHC attachment (the referral goes there), by id."""
    valid = select(IdentityDocument.person_id).where(
        IdentityDocument.kind == "id_card", IdentityDocument.expires_on >= day
    )
    attached = select(Attachment.person_id).where(Attachment.end_date.is_(None))
    return list(
        session.scalars(
            select(Person)
            .where(
                Person.birth_date <= day.replace(year=day.year - 20),
                Person.birth_date >= day.replace(year=day.year - 55),
                Person.death_date.is_(None),
                Person.id.in_(valid),
                Person.id.in_(attached),
                Person.id.not_in(taken or {0}),
            )
            .order_by(Person.id)
            .limit(count)
        )
    )


def _at(day: dt.date, hour: int = 11) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=clock.KZ_TIME)


class Desk:
    """The demo clinic's responsible therapist and clinician at work on the books, on a clock of their own."""

    def __init__(self, session: Session, therapist: Actor, clinician: Actor, folder: Path | None) -> None:
        self.session, self.therapist, self.clinician, self.folder = session, therapist, clinician, folder
        self.clock = clock.Fixed(clock.now())

    def book(self, person: Person, day: dt.date) -> MedicalBook:
        self.clock.set(_at(day, 9))
        return medbook.issue(
            session=self.session,
            actor=self.therapist,
            now=self.clock.now(),
            data=BookIn(
                iin=person.iin,
                profession=WORK[0],
                position=WORK[1],
                workplace=WORK[2],
                employer_bin=EMPLOYER_BIN,
                group_code=GROUP,
                language=Language.RU if person.id % 2 else Language.KK,
            ),
        )

    def examine(self, book: MedicalBook, person: Person, day: dt.date, positive: bool = False) -> None:
        """Record every required item of the group, clean (or one infection item positive: C-30 suspends)."""
        self.clock.set(_at(day, 10))
        group = catalogue.rule_of(catalogue.in_force(session=self.session, code=GROUP, day=day))
        for req in group.requirements:
            if req.female_only and person.sex != "female":
                continue
            result = Result.NORMAL if req.kind is EntryKind.SPECIALIST_EXAM else Result.NEGATIVE
            if positive and req.infection:
                result, positive = Result.POSITIVE, False
            journal.record(
                session=self.session,
                actor=self.clinician,
                book_id=book.id,
                now=self.clock.now(),
                data=EntryIn(kind=ClinicalKind(req.kind.value), item_code=req.code, performed_on=day, result=result),
            )

    def examine_one_positive(self, book: MedicalBook, day: dt.date) -> None:
        """Record one positive infection test (carriage): the journal suspends and refers at once (C-30)."""
        self.clock.set(_at(day, 10))
        group = catalogue.rule_of(catalogue.in_force(session=self.session, code=GROUP, day=day))
        req = next((r for r in group.requirements if r.infection), None)
        if req is None:
            return
        journal.record(
            session=self.session,
            actor=self.clinician,
            book_id=book.id,
            now=self.clock.now(),
            data=EntryIn(
                kind=ClinicalKind(req.kind.value), item_code=req.code, performed_on=day, result=Result.POSITIVE
            ),
        )

    def decide(self, book: MedicalBook, day: dt.date, decision: Decision, note: str) -> None:
        self.clock.set(_at(day, 12))
        journal.decide_clearance(
            session=self.session,
            actor=self.therapist,
            book_id=book.id,
            now=self.clock.now(),
            data=ClearanceIn(decision=decision, note=note),
        )

    def sign(self, book: MedicalBook, sign: Callable[[JournalEntry], bool]) -> int:
        """Sign the book's pending entries that ``sign`` picks with their authors' demo PKCS#12 files."""
        if self.folder is None:
            return 0
        # A CMS carries the machine's signing time, which must not be after the clock: sign then at the latest.
        self.clock.set(max(self.clock.now(), clock.SYSTEM.now()))
        trust = from_demo_folder(self.folder)
        count = 0
        entries = self.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.book_id == book.id, JournalEntry.signature_state == "pending")
            .order_by(JournalEntry.id)
        )
        for entry in list(entries):
            author = self.session.get(Account, entry.author_account_id) if entry.author_account_id else None
            path = demo_signing.pkcs12_path(self.folder, author.username) if author is not None else None
            if author is None or path is None or not sign(entry):
                continue
            sign_record(
                self.session,
                RecordKind.MEDBOOK_ENTRY,
                entry.id,
                pkcs12=path.read_bytes(),
                password=PKI_PASSWORD,
                actor=actor_of(author),
                trust=trust,
            )
            count += 1
        return count


def appoint_early(session: Session, day: dt.date) -> bool:
    """Appoint demo-responsible-therapist at the demo clinic from long before the demo day (so that past books were
    issued under them); False when the clinic has an appointment already or cannot issue books."""
    therapist, admin = _account(session, Role.RESPONSIBLE_THERAPIST), _account(session, Role.ENTITY_ADMIN)
    if therapist is None or admin is None or therapist.entity_id is None:
        return False
    since = day - dt.timedelta(days=APPOINTED)
    open_ = session.scalar(
        select(ResponsibleAppointment).where(
            ResponsibleAppointment.entity_id == therapist.entity_id, ResponsibleAppointment.valid_to.is_(None)
        )
    )
    if open_ is not None:
        return open_.account_id == therapist.id and open_.valid_from <= since
    if not medbook.issuer_eligible(session=session, entity_id=therapist.entity_id, day=since):
        return False
    appointments.appoint(
        session=session,
        actor=actor_of(admin),
        entity_id=therapist.entity_id,
        data=AppointIn(account_id=therapist.id, valid_from=since),
        now=_at(since),
    )
    return True


def seed_states(session: Session, *, day: dt.date, folder: Path | None, taken: set[int]) -> BookStats:
    """Open PER_STATE books in each state of STATES at the demo clinic (see the module docstring)."""
    stats = BookStats()
    therapist, clinician = _account(session, Role.RESPONSIBLE_THERAPIST), _account(session, Role.CLINICIAN)
    if therapist is None or clinician is None or not appoint_early(session, day):
        return stats
    workers = _workers(session, day, taken, PER_STATE * len(STATES))
    desk = Desk(session, actor_of(therapist), actor_of(clinician), folder)
    with clock.use(desk.clock):
        for i, person in enumerate(workers):
            state = STATES[i % len(STATES)]
            examined = day - dt.timedelta(days=EXAMINED[state])
            book = desk.book(person, examined)
            desk.examine(book, person, examined)
            if state == "refused":
                desk.decide(book, examined, Decision.REFUSED, "Не явилась к дерматовенерологу повторно")
            else:
                desk.decide(book, examined, Decision.GRANTED, "")
            if state in ("cleared", "expired", "suspended", "refused"):
                stats.signed += desk.sign(book, lambda _e: True)
            if state == "suspended":  # a new stool test shows carriage (journey 7)
                desk.examine_one_positive(book, day - dt.timedelta(days=5))
            stats.books[state] = stats.books.get(state, 0) + 1
    return stats
