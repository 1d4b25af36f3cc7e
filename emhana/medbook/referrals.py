"""Referrals as the receiving PHC organization sees them (C-30, C-31): the list of workers referred to it, and
its acknowledgement of a referral, which the worker and the referring organization are told of.

The list also holds the referrals the actor's own organization recorded without a receiving organization (the
worker's address of residence is not known), so the issuing clinic sees them and can act. Every listed book is
logged as a read. An acknowledgement is written once (``ReferralReceipt``, one row per referral entry); a
second one answers with the first. A referral that is not to the actor's organization answers exactly as a
missing one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities.models import Entity
from emhana.identity.models import Person
from emhana.kernel.errors import Forbidden, ReferralNotFound
from emhana.kernel.i18n import LANGUAGES, N_, translate
from emhana.medbook.labels import item_label
from emhana.medbook.models import JournalEntry, MedicalBook, ReferralReceipt
from emhana.medbook.referral import aware
from emhana.medbook.rules import ClearanceStatus, EntryKind
from emhana.medbook.schemas import ReceiptOut, ReferralOut
from emhana.medbook.service import local_day
from emhana.medbook.views import REFERRALS_PURPOSE, _log_listed
from emhana.notify.outbox import RecipientKind, enqueue
from emhana.notify.templates import register

ACKNOWLEDGE_ACTION = "medbook.referral.acknowledge"
ENTRY = "medbook_entry"
WORKER_TEMPLATE = "medbook.referral_acknowledged"
REFERRER_TEMPLATE = "medbook.referral_acknowledged_referrer"

SUBJECTS = {
    WORKER_TEMPLATE: N_("Your referral was received"),
    REFERRER_TEMPLATE: N_("A referral was received"),
}
BODIES = {
    WORKER_TEMPLATE: N_(
        "Your referral for treatment or sanitation (personal medical book No. {book_id}) was received by {clinic} "
        "on {day}."
    ),
    REFERRER_TEMPLATE: N_(
        "The referral of {worker}, personal medical book No. {book_id}, for treatment or sanitation was received by "
        "{clinic} on {day}."
    ),
}


def render(template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
    """Return the subject and body of an acknowledgement message in a language; registered with notify."""
    clinic = params.get("clinic_kk") if language == "kk" else params.get("clinic_ru")
    values = {**params, "clinic": clinic or ""}
    return translate(language, SUBJECTS[template]), translate(language, BODIES[template], values)


for _template in SUBJECTS:
    register(_template, render)


def _names(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = session.execute(select(Entity.id, Entity.name_kk, Entity.name_ru).where(Entity.id.in_(ids)))
    return {r.id: (r.name_kk, r.name_ru) for r in rows}


def _listed(session: Session, actor: Actor, condition: Any) -> list[ReferralOut]:
    """Return the referral entries matching a condition, latest first, and log each listed book's read."""
    rows = session.execute(
        select(JournalEntry, MedicalBook, Person)
        .join(MedicalBook, MedicalBook.id == JournalEntry.book_id)
        .join(Person, Person.id == MedicalBook.person_id)
        .where(JournalEntry.kind == EntryKind.REFERRAL.value, condition)
        .order_by(JournalEntry.id.desc())
    ).all()
    ids = [ref.id for ref, _, _ in rows]
    receipts = (
        {r.entry_id: r for r in session.scalars(select(ReferralReceipt).where(ReferralReceipt.entry_id.in_(ids)))}
        if ids
        else {}
    )
    names = _names(session, {ref.entity_id for ref, _, _ in rows})
    out = []
    for ref, book, person in rows:
        _log_listed(session, actor, book.id, person.id, REFERRALS_PURPOSE)
        cause = session.get(JournalEntry, ref.caused_by_id) if ref.caused_by_id else None
        granted_later = session.scalar(
            select(JournalEntry.id)
            .where(
                JournalEntry.book_id == book.id,
                JournalEntry.kind == EntryKind.CLEARANCE.value,
                JournalEntry.clearance == ClearanceStatus.GRANTED.value,
                JournalEntry.signature_state == "signed",  # a grant counts once signed (service.counts)
                JournalEntry.id > ref.id,
            )
            .limit(1)
        )
        receipt = receipts.get(ref.id)
        label = item_label(ref.item_code)
        kk, ru = names.get(ref.entity_id, ("", ""))
        out.append(
            ReferralOut(
                entry_id=ref.id,
                book_id=book.id,
                person_id=person.id,
                iin=person.iin,
                surname=person.surname,
                given_name=person.given_name,
                referred_on=ref.performed_on,
                from_entity_id=ref.entity_id,
                cause_item=ref.item_code,
                cause_result=cause.result if cause else None,
                open=granted_later is None,
                cause_item_name={lang: label.in_language(lang) for lang in LANGUAGES},
                from_entity_name_kk=kk,
                from_entity_name_ru=ru,
                to_entity_id=ref.referral_entity_id,
                acknowledged=receipt is not None,
                acknowledged_at=aware(receipt.acknowledged_at) if receipt else None,
                acknowledged_on=local_day(aware(receipt.acknowledged_at)) if receipt else None,
            )
        )
    return out


def incoming(*, session: Session, actor: Actor) -> list[ReferralOut]:
    """Return the referrals to the actor's PHC organization; open until a later clearance is granted (C-30, C-31)."""
    if actor.entity_id is None:
        raise Forbidden()
    return _listed(session, actor, JournalEntry.referral_entity_id == actor.entity_id)


def without_target(*, session: Session, actor: Actor) -> list[ReferralOut]:
    """Return the referrals the actor's organization recorded with no receiving organization yet (C-30)."""
    if actor.entity_id is None:
        raise Forbidden()
    return _listed(
        session, actor, (JournalEntry.entity_id == actor.entity_id) & JournalEntry.referral_entity_id.is_(None)
    )


def acknowledge(*, session: Session, actor: Actor, entry_id: int, now: dt.datetime, note: str = "") -> ReferralReceipt:
    """Record that the receiving organization has the referral; once (a repeat returns the first receipt).

    Audited, and the worker and the referring organization are told through the outbox (never the employer).
    """
    entry = session.scalar(select(JournalEntry).where(JournalEntry.id == entry_id).with_for_update())
    if (
        entry is None
        or entry.kind != EntryKind.REFERRAL.value
        or actor.entity_id is None
        or entry.referral_entity_id != actor.entity_id
    ):
        raise ReferralNotFound()
    found = session.get(ReferralReceipt, entry.id)
    if found is not None:
        return found
    receipt = ReferralReceipt(
        entry_id=entry.id,
        entity_id=actor.entity_id,
        acknowledged_by=actor.account_id,
        acknowledged_at=now.astimezone(dt.UTC),
        note=note.strip(),
    )
    session.add(receipt)
    book = session.get(MedicalBook, entry.book_id)
    assert book is not None
    record_event(
        session=session,
        actor=actor,
        action=ACKNOWLEDGE_ACTION,
        object_type=ENTRY,
        object_id=str(entry.id),
        subject_person_id=book.person_id,
        purpose=REFERRALS_PURPOSE,
        now=now,
    )
    _notify(session, book=book, entry=entry, clinic_id=actor.entity_id, now=now)
    session.flush()
    return receipt


def receipt_out(receipt: ReferralReceipt) -> ReceiptOut:
    """Return the view of an acknowledgement."""
    return ReceiptOut(
        entry_id=receipt.entry_id,
        entity_id=receipt.entity_id,
        acknowledged_by=receipt.acknowledged_by,
        acknowledged_at=aware(receipt.acknowledged_at),
        note=receipt.note,
    )


def _notify(session: Session, *, book: MedicalBook, entry: JournalEntry, clinic_id: int, now: dt.datetime) -> None:
    """Queue the acknowledgement's messages to the worker and the referring organization (no clinical cause)."""
    person = session.get(Person, book.person_id)
    clinic = session.get(Entity, clinic_id)
    common = {
        "book_id": book.id,
        "day": local_day(now).strftime("%d.%m.%Y"),
        "clinic_kk": clinic.name_kk if clinic else "",
        "clinic_ru": clinic.name_ru if clinic else "",
    }
    key = f"medbook:{book.id}:referral:{entry.id}:acknowledged"
    if person is not None:
        enqueue(
            session,
            kind=RecipientKind.PERSON,
            recipient_id=person.id,
            template=WORKER_TEMPLATE,
            params=common,
            dedupe_key=f"{key}:person:{person.id}",
            now=now,
        )
    worker = " ".join(p for p in (person.surname, person.given_name, person.patronymic) if p) if person else ""
    enqueue(
        session,
        kind=RecipientKind.ENTITY,
        recipient_id=entry.entity_id,
        template=REFERRER_TEMPLATE,
        params={**common, "worker": worker},
        dedupe_key=f"{key}:entity:{entry.entity_id}",
        now=now,
    )
