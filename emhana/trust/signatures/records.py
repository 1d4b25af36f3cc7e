"""The records that can be signed, what each signs (its canonical form), who may and who must sign it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.models import Application
from emhana.facilities.models import Entity
from emhana.identity.models import Person
from emhana.kernel.errors import EntryNotFound, Forbidden, NotFound
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.notify.models import AttachmentNotice
from emhana.trust.signatures import canonical


class RecordKind(StrEnum):
    MEDBOOK_ENTRY = "medbook_entry"  # a journal entry or a correction (C-13, C-41)
    ATTACHMENT_NOTICE = "attachment_notice"  # an attachment notification or refusal


ENTRY_SIGNERS = frozenset({Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.MIS_CLIENT})
NOTICE_SIGNERS = frozenset({Role.ENTITY_ADMIN, Role.REGISTRAR})


@dataclass(frozen=True)
class Signable:
    """A record as its signer sees it: the bytes to sign and whose signature they need."""

    kind: RecordKind
    record_id: int
    canonical: bytes
    entity_id: int
    organization_bin: str
    author_account_id: int | None  # None: the signer is whoever acts for the organization (a notice)
    subject_person_id: int | None


def _iin_of_account(session: Session, account_id: int | None) -> str | None:
    account = session.get(Account, account_id) if account_id is not None else None
    person = session.get(Person, account.person_id) if account and account.person_id else None
    return person.iin if person else None


def _entry(session: Session, record_id: int) -> Signable:
    entry = session.get(JournalEntry, record_id)
    if entry is None:
        raise EntryNotFound()
    if entry.supersedes_id is not None:  # C-41: a correction signs the hash of what it corrects
        old = session.get(JournalEntry, entry.supersedes_id)
        assert old is not None
        data = canonical.correction_form(entry.canonical, old.canonical)
    else:
        data = canonical.entry_form(entry.canonical)
    entity = session.get(Entity, entry.entity_id)
    book = session.get(MedicalBook, entry.book_id)
    assert entity is not None and book is not None
    return Signable(
        RecordKind.MEDBOOK_ENTRY, entry.id, data, entity.id, entity.bin, entry.author_account_id, book.person_id
    )


def _notice(session: Session, record_id: int) -> Signable:
    notice = session.get(AttachmentNotice, record_id)
    if notice is None:
        raise NotFound()
    app = session.get(Application, notice.application_id)
    entity = session.get(Entity, app.entity_id) if app else None
    assert app is not None and entity is not None
    data = canonical.notification_form(
        number=notice.number,
        application_id=app.id,
        kind=notice.kind,
        language=notice.language,
        issued_at=notice.issued_at.isoformat(),
        content=json.loads(notice.content),
        pdf_sha256=notice.sha256,
    )
    return Signable(RecordKind.ATTACHMENT_NOTICE, notice.id, data, entity.id, entity.bin, None, app.person_id)


def signable(session: Session, kind: RecordKind, record_id: int) -> Signable:
    """Return the record's signable view; raise NotFound."""
    return _entry(session, record_id) if kind is RecordKind.MEDBOOK_ENTRY else _notice(session, record_id)


def check_may_sign(actor: Actor, record: Signable) -> None:
    """Admit the record's author (or the organization's MIS on the author's behalf) for an entry (C-40), and
    the deciding organization's head or registrar for a notice (A-54); raise Forbidden."""
    if actor.entity_id is None or actor.entity_id != record.entity_id:
        raise Forbidden()
    if record.kind is RecordKind.MEDBOOK_ENTRY:
        if actor.role not in ENTRY_SIGNERS or (
            actor.role is not Role.MIS_CLIENT and actor.account_id != record.author_account_id
        ):
            raise Forbidden()
    elif actor.role not in NOTICE_SIGNERS:
        raise Forbidden()


def expected_iin(session: Session, actor: Actor, record: Signable) -> str | None:
    """Return the IIN the signing certificate must carry: the author's for an entry, the acting person's for a
    notice (C-06, C-40, A-54)."""
    if record.kind is RecordKind.MEDBOOK_ENTRY:
        return _iin_of_account(session, record.author_account_id)
    return _iin_of_account(session, actor.account_id)
