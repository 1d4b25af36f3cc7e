"""The journal of a medical book (C-13, C-41): record exams and results (one or many from an MIS), correct an
entry with a signed reason (C-40), decide clearance (C-20, C-21), and suspend and refer a worker with an
infection (C-30, C-31).

Functions are keyword-only, take the session and the acting user, and never commit: the request's unit of
work does, so a refused request changes nothing and a suspension lands with the result that caused it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.facilities.models import Entity
from emhana.identity.models import Person
from emhana.kernel.errors import (
    ClearanceIncomplete,
    Conflict,
    Contraindication,
    CorrectionReasonRequired,
    DateInFuture,
    EntryNotFound,
    EntrySuperseded,
    ItemKindMismatch,
    MedbookRule,
    NotCorrectable,
    RegistryError,
)
from emhana.kernel.fastsql import Fast
from emhana.kernel.i18n import N_
from emhana.medbook import catalogue, infections, scope, seal
from emhana.medbook.appointments import require_responsible
from emhana.medbook.employment import groups_of
from emhana.medbook.labels import item_label, items_label, kind_label
from emhana.medbook.models import MEDBOOK_CHAIN, JournalEntry, MedicalBook
from emhana.medbook.referral import referral_target
from emhana.medbook.rules import (
    CLINICAL_KINDS,
    CONTRAINDICATING,
    ClearanceStatus,
    EntryKind,
    Finding,
    GroupRule,
    Result,
    Source,
    assess,
    canonical_bytes,
    not_in_future,
    rule_for_groups,
    suspends,
)
from emhana.medbook.schemas import ClearanceIn, CorrectionIn, Decision, EntryIn
from emhana.medbook.service import SIGNED, current_entries, get_book, local_day, recording_entity, require_staff
from emhana.medbook.suspension import notify_suspended
from emhana.trust.chain import links as chain
from emhana.trust.chain.kinds import table_of


class EntryRetracted(Conflict):
    """The entry was retracted as entered in error (issue 17): it is corrected or retracted no more."""

    code = "medbook.entry_retracted"
    message = N_("This entry was retracted as entered in error; record a new entry instead.")


def _write(
    session: Session,
    *,
    book: MedicalBook,
    actor: Actor,
    now: dt.datetime,
    kind: EntryKind,
    performed_on: dt.date,
    item_code: str = "",
    result: Result | None = None,
    result_text: str = "",
    codes: list[str] | None = None,
    clinical_status: str | None = None,
    clearance: str | None = None,
    valid_until: dt.date | None = None,
    referral_entity_id: int | None = None,
    caused_by_id: int | None = None,
    supersedes_id: int | None = None,
    reason: str | None = None,
    retracted: bool | None = None,
    signature_state: str = "pending",
) -> JournalEntry:
    """Append one entry with the canonical bytes its author's signature will cover (C-06, C-41)."""
    referral_bin = session.get(Entity, referral_entity_id).bin if referral_entity_id else None  # type: ignore[union-attr]
    entry = _entry_row(
        _owner(session, book, actor),
        book=book,
        actor=actor,
        now=now,
        kind=kind,
        performed_on=performed_on,
        item_code=item_code,
        result=result,
        result_text=result_text,
        codes=codes,
        clinical_status=clinical_status,
        clearance=clearance,
        valid_until=valid_until,
        referral_entity_id=referral_entity_id,
        referral_bin=referral_bin,
        caused_by_id=caused_by_id,
        supersedes_id=supersedes_id,
        reason=reason,
        retracted=retracted,
        signature_state=signature_state,
    )
    session.add(entry)
    session.flush()
    if kind is EntryKind.CLEARANCE and clearance == ClearanceStatus.SUSPENDED.value:
        seal.suspend(session, book_id=book.id, actor=actor, now=now)  # C-30: the seals say "suspended"
    elif kind is EntryKind.CLEARANCE and clearance == ClearanceStatus.REFUSED.value:  # C-41: replaced at once
        seal.withdraw(session, book_id=book.id, keep=entry.id, actor=actor, now=now)
    # a grant replaces the earlier seals when its clinician signs it (signable.mark_entry_signed): until then the
    # earlier decision stands (service.counts)
    return entry


@dataclass(frozen=True)
class _Owner:
    """What every entry's canonical document says of its book's owner and issuer."""

    person_iin: str | None
    entity_bin: str | None


def _owner(session: Session, book: MedicalBook, actor: Actor) -> _Owner:
    """The entity named in an entry is the one that records it (any licensed clinic examining the worker)."""
    person = session.get(Person, book.person_id)
    entity = session.get(Entity, recording_entity(actor, book))
    return _Owner(person.iin if person else None, entity.bin if entity else None)


def _entry_values(
    owner: _Owner,
    *,
    book: MedicalBook,
    actor: Actor,
    now: dt.datetime,
    kind: EntryKind,
    performed_on: dt.date,
    item_code: str = "",
    result: Result | None = None,
    result_text: str = "",
    codes: list[str] | None = None,
    clinical_status: str | None = None,
    clearance: str | None = None,
    valid_until: dt.date | None = None,
    referral_entity_id: int | None = None,
    referral_bin: str | None = None,
    caused_by_id: int | None = None,
    supersedes_id: int | None = None,
    reason: str | None = None,
    retracted: bool | None = None,
    signature_state: str = "pending",
) -> dict[str, Any]:
    """Return the columns of one entry (every column, ``id`` aside) with the canonical bytes its author's
    signature will cover (C-06)."""
    source = Source.MIS if actor.role is Role.MIS_CLIENT else Source.MANUAL
    document: dict[str, Any] = {
        "type": "emhana.medbook.entry/1",
        "book": book.id,
        "person_iin": owner.person_iin,
        "entity_bin": owner.entity_bin,
        "kind": kind.value,
        "item_code": item_code,
        "performed_on": performed_on.isoformat(),
        "result": result.value if result else None,
        "result_text": result_text,
        "codes": list(codes or []),
        "clearance": clearance,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "referral_entity_bin": referral_bin,
        "caused_by": caused_by_id,
        "supersedes": supersedes_id,
        "reason": reason,
        "author_account": actor.account_id,
        "author_name": actor.display_name,
        "source": source.value,
        "recorded_at": now.astimezone(dt.UTC).isoformat(),
    }
    if clinical_status is not None:  # a diagnosis: active or resolved (C-30); absent from every other kind
        document["clinical_status"] = clinical_status
    if retracted:  # a retraction (issue 17); absent from every other entry
        document["retracted"] = True
    return {
        "book_id": book.id,
        "kind": kind.value,
        "item_code": item_code,
        "performed_on": performed_on,
        "result": result.value if result else None,
        "result_text": result_text,
        "codes": ",".join(codes or []),
        "clinical_status": clinical_status,
        "clearance": clearance,
        "valid_until": valid_until,
        "referral_entity_id": referral_entity_id,
        "caused_by_id": caused_by_id,
        "entity_id": recording_entity(actor, book),
        "author_account_id": actor.account_id,
        "author_name": actor.display_name,
        "source": source.value,
        "supersedes_id": supersedes_id,
        "reason": reason,
        "recorded_at": now,
        "canonical": canonical_bytes(document),
        "signature_state": signature_state,
        "retracted": retracted,
    }


def _entry_row(owner: _Owner, **fields: Any) -> JournalEntry:
    """Build (not add) one entry (``_entry_values``)."""
    return JournalEntry(**_entry_values(owner, **fields))


def _after_result(session: Session, book: MedicalBook, entry: JournalEntry, actor: Actor, now: dt.datetime) -> None:
    """Suspend clearance at once and refer to PHC when a result shows infection or carriage (C-30)."""
    _suspend_if(session, book, entry, actor, now, _group_today(session, book, now))


def _group_today(session: Session, book: MedicalBook, now: dt.datetime) -> GroupRule:
    """Return the united rule of the worker's decreed groups today, one per current job (C-30 judges results by
    it); a group whose catalogue version has closed (the 2015 scope) is judged by its last version."""
    day = local_day(now)
    return rule_for_groups(
        [
            catalogue.rule_of(catalogue.in_force_or_last(session=session, code=code, day=day))
            for code in groups_of(session, book, day)
        ]
    )


def _suspend_if(
    session: Session, book: MedicalBook, entry: JournalEntry, actor: Actor, now: dt.datetime, group: GroupRule
) -> None:
    """Write the suspension and the referral an entry's result calls for, if any (C-30)."""
    day = local_day(now)
    result = Result(entry.result) if entry.result else None
    infected = suspends(group, EntryKind(entry.kind), entry.item_code, result)
    if not infected and not infections.bars(session, book, entry, day):  # a positive test or a barring diagnosis
        return
    suspension = _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind.CLEARANCE,
        performed_on=day,
        clearance=ClearanceStatus.SUSPENDED.value,
        caused_by_id=entry.id,
        item_code=entry.item_code,
    )
    target = referral_target(session=session, person_id=book.person_id, day=day)
    _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind.REFERRAL,
        performed_on=day,
        item_code=entry.item_code,
        referral_entity_id=target,
        caused_by_id=entry.id,
    )
    notify_suspended(session, book=book, suspension=suspension, clinic_id=target, now=now)


def _check_date(day: dt.date, now: dt.datetime) -> None:
    if not not_in_future(day, local_day(now)):
        raise DateInFuture(day=day.strftime("%d.%m.%Y"))


@cache
def _allowed_kinds() -> dict[str, frozenset[str]]:
    """The kinds each item of the packaged catalogue may be recorded under (package data: read once; callers
    only read it)."""
    return catalogue.item_allowed_kinds()


def _check_item(kind: str, item_code: str) -> None:
    """Refuse a catalogue item recorded under another kind (a "laboratory test" named "Gynecologist", C-13)."""
    allowed = _allowed_kinds().get(item_code)
    if allowed is not None and kind not in allowed:
        expected = sorted(allowed)[0]
        raise ItemKindMismatch(item=item_label(item_code), kind=kind_label(kind), expected=kind_label(expected))


class ItemNotInCatalogue(MedbookRule):
    """An item the catalogue does not list for the kind (what an MIS code map may name, issue 17)."""

    code = "medbook.item_not_in_catalogue"
    message = N_("“{item}” is not an item of the catalogue that can be recorded as “{kind}”.")


def check_catalogue_item(kind: str, item_code: str) -> None:
    """Refuse an item the catalogue does not list for the kind (C-13): the code map sends MIS results only to items
    of the catalogue, under a kind the item may be recorded as."""
    allowed = _allowed_kinds().get(item_code)
    if allowed is None or kind not in allowed:
        raise ItemNotInCatalogue(item=item_label(item_code), kind=kind_label(kind))


def record(*, session: Session, actor: Actor, book_id: int, data: EntryIn, now: dt.datetime) -> JournalEntry:
    """Append a clinical entry from the clinician's desk or the MIS (C-12, C-13); infection suspends (C-30)."""
    book = get_book(session=session, book_id=book_id)
    require_staff(session, actor, book)
    _check_date(data.performed_on, now)
    _check_item(data.kind.value, data.item_code)
    codes, status = infections.diagnosis_of(data)
    entry = _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind(data.kind.value),
        item_code=data.item_code,
        performed_on=data.performed_on,
        result=data.result,
        result_text=data.result_text,
        codes=codes,
        clinical_status=status,
    )
    _after_result(session, book, entry, actor, now)
    return entry


class EntryRefused(Exception):  # noqa: N818 (a refusal carrying the rule's error)
    """One entry of a batch broke a rule: ``index`` is its place in the batch, ``error`` the rule's error."""

    def __init__(self, index: int, error: RegistryError) -> None:
        self.index = index
        self.error = error
        super().__init__(f"entry {index}: {error.english()}")


def _checked_batch(
    session: Session, actor: Actor, book_id: int, entries: Sequence[EntryIn], now: dt.datetime
) -> tuple[MedicalBook, list[tuple[list[str], str | None]]]:
    """Return the book and each entry's codes and clinical status after the checks ``record`` makes (C-13, C-40);
    a refused entry raises ``EntryRefused`` with its index."""
    book = get_book(session=session, book_id=book_id)
    require_staff(session, actor, book)
    checked = []
    for index, data in enumerate(entries):
        try:
            _check_date(data.performed_on, now)
            _check_item(data.kind.value, data.item_code)
            checked.append(infections.diagnosis_of(data))
        except RegistryError as exc:
            raise EntryRefused(index, exc) from None
    return book, checked


def _batch_values(
    session: Session,
    actor: Actor,
    book: MedicalBook,
    entries: Sequence[EntryIn],
    checked: list[tuple[list[str], str | None]],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    owner = _owner(session, book, actor)
    return [
        _entry_values(
            owner,
            book=book,
            actor=actor,
            now=now,
            kind=EntryKind(data.kind.value),
            item_code=data.item_code,
            performed_on=data.performed_on,
            result=data.result,
            result_text=data.result_text,
            codes=codes,
            clinical_status=status,
        )
        for data, (codes, status) in zip(entries, checked, strict=True)
    ]


def record_many(
    *, session: Session, actor: Actor, book_id: int, entries: Sequence[EntryIn], now: dt.datetime
) -> list[JournalEntry]:
    """Append many clinical entries to one book, as ``record`` does each (C-12, C-13, C-30, C-40), in one go.

    The book, the staff check (C-40) and the decreed group in force (C-30) are looked up once; every entry's
    date is checked before anything is written (C-13), and a refused one raises ``EntryRefused`` with its
    index; the entries are inserted in one flush, in order; each result that shows infection or carriage
    then gets its suspension and referral (C-30). The hash chain links every row at commit, as for ``record``.
    Returns the entries in the order given (``record_batch`` writes the same rows without ORM objects).
    """
    book, checked = _checked_batch(session, actor, book_id, entries, now)
    if not entries:
        return []
    group = _group_today(session, book, now)
    rows = [JournalEntry(**values) for values in _batch_values(session, actor, book, entries, checked, now)]
    session.add_all(rows)
    session.flush()
    for row in rows:
        _suspend_if(session, book, row, actor, now, group)
    return rows


_ENTRIES = table_of(JournalEntry)
_INSERT_ENTRIES = Fast(insert(_ENTRIES).returning(_ENTRIES.c.id, sort_by_parameter_order=True))


def record_batch(
    *, session: Session, actor: Actor, book_id: int, entries: Sequence[EntryIn], now: dt.datetime
) -> list[int]:
    """``record_many`` for a large batch (an MIS bundle): the same checks, rows, order, C-30 suspensions and
    referrals and hash chain links, written with one Core statement (no ORM object per entry); returns the
    entries' ids in the order given.

    The rows are handed to the hash chain as written (``chain.note_new``), so on PostgreSQL its links at commit
    need no read-back. Only an entry that may call for a suspension (a result the decreed group's rule judges as
    infection or carriage, or a diagnosis) is loaded as an object, to be judged exactly as ``record`` judges it.
    The decreed groups are read only when an entry may call for one: a result that is neither positive nor
    abnormal suspends under no group's rule (``rules.suspends``), so a batch of such results reads none.
    """
    book, checked = _checked_batch(session, actor, book_id, entries, now)
    if not entries:
        return []
    values = _batch_values(session, actor, book, entries, checked, now)
    conn = session.connection()
    ids = [int(r[0]) for r in _INSERT_ENTRIES.many(conn, values, returning=True)]
    # PostgreSQL stores the moment as given (timestamptz), so the chain hashes the rows as written; SQLite keeps
    # the wall time without its zone (as an ORM write does), so there the chain reads them back
    written = [{**v, "id": i} for v, i in zip(values, ids, strict=True)] if conn.dialect.name == "postgresql" else []
    chain.note_new(session, MEDBOOK_CHAIN.name, ids, written)
    judged = []  # (id, values, result) of the entries that may call for a suspension
    for row_id, v in zip(ids, values, strict=True):
        result = Result(v["result"]) if v["result"] else None
        if v["clinical_status"] is not None or result in CONTRAINDICATING:
            judged.append((row_id, v, result))
    if not judged:
        return ids
    group = _group_today(session, book, now)
    for row_id, v, result in judged:
        if v["clinical_status"] is not None or suspends(group, EntryKind(v["kind"]), v["item_code"], result):
            entry = session.get(JournalEntry, row_id)
            assert entry is not None
            _suspend_if(session, book, entry, actor, now, group)
    return ids


def correct(
    *, session: Session, actor: Actor, entry_id: int, data: CorrectionIn, now: dt.datetime, book_id: int | None = None
) -> JournalEntry:
    """Supersede an entry with a corrected one carrying reason and author; the old one stays (C-40, C-41).

    ``book_id``, when given (the desk's form), must be the entry's book.
    """
    old = session.get(JournalEntry, entry_id)
    if old is None or (book_id is not None and old.book_id != book_id):
        raise EntryNotFound()
    book = get_book(session=session, book_id=old.book_id)
    require_staff(session, actor, book)
    if data.reason is None or not data.reason.strip():
        raise CorrectionReasonRequired()
    if EntryKind(old.kind) not in CLINICAL_KINDS:
        raise NotCorrectable()
    if old.retracted:
        raise EntryRetracted()
    if session.scalar(select(JournalEntry.id).where(JournalEntry.supersedes_id == old.id)) is not None:
        raise EntrySuperseded()
    _check_date(data.performed_on, now)
    _check_item(data.kind.value, data.item_code)
    codes, status = infections.diagnosis_of(data)
    if not codes and status is None and old.codes and old.clinical_status is None:
        codes = old.codes.split(",")  # an MIS test keeps its source codes (LOINC) unless the correction names others
    entry = _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind(data.kind.value),
        item_code=data.item_code,
        performed_on=data.performed_on,
        result=data.result,
        result_text=data.result_text,
        codes=codes,
        clinical_status=status,
        supersedes_id=old.id,
        reason=data.reason.strip(),
    )
    # C-40, C-41: the correction takes effect once signed; then (emhana.medbook.signable) the seals of the
    # clearances that relied on the corrected entry are replaced by newer versions.
    _after_result(session, book, entry, actor, now)
    return entry


def current_version(session: Session, entry: JournalEntry) -> JournalEntry:
    """Return the latest version of an entry: the last of the corrections that supersede it in turn (C-41)."""
    seen = {entry.id}
    while (
        newer := session.scalar(select(JournalEntry).where(JournalEntry.supersedes_id == entry.id))
    ) is not None and newer.id not in seen:
        seen.add(newer.id)
        entry = newer
    return entry


def retract(*, session: Session, actor: Actor, entry_id: int, reason: str, now: dt.datetime) -> JournalEntry:
    """Retract a clinical entry entered in error (issue 17, FHIR ``entered-in-error``): a new row marked
    ``retracted`` supersedes the entry's latest version, with the reason; the entry then counts nowhere
    (``service.current_entries``: clearance, suspension and diagnosis rules no longer see it) and the book shows
    it as retracted. The request that retracts is signed by the entry's author (an MIS bundle's CMS covers the
    entered-in-error resource), so the retraction is in force at once and the seals that relied on the entry
    are withdrawn (C-40, C-41). A suspension the entry caused stays: only a clinician's decision lifts it (C-30).
    """
    found = session.get(JournalEntry, entry_id)
    if found is None:
        raise EntryNotFound()
    old = current_version(session, found)
    if old.retracted:
        raise EntryRetracted()
    book = get_book(session=session, book_id=old.book_id)
    require_staff(session, actor, book)
    if not reason.strip():
        raise CorrectionReasonRequired()
    if EntryKind(old.kind) not in CLINICAL_KINDS:
        raise NotCorrectable()
    entry = _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind(old.kind),
        item_code=old.item_code,
        performed_on=old.performed_on,
        codes=old.codes.split(",") if old.codes else [],
        supersedes_id=old.id,
        reason=reason.strip(),
        retracted=True,
        signature_state=SIGNED,
    )
    seal.correction_signed(session, entry)
    return entry


def decide_clearance(
    *, session: Session, actor: Actor, book_id: int, data: ClearanceIn, now: dt.datetime
) -> JournalEntry:
    """Grant, refuse or suspend work clearance; a grant needs the group's complete, clean scope (C-20, C-21)."""
    book = get_book(session=session, book_id=book_id)
    require_staff(session, actor, book)
    day = data.performed_on or local_day(now)
    require_responsible(session, actor, recording_entity(actor, book), local_day(now))  # the examining clinic's
    _check_date(day, now)
    valid_until = None
    if data.decision is Decision.GRANTED:
        person = session.get(Person, book.person_id)
        # C-53: the united scope of the worker's decreed groups (one per job; the book's own for now)
        group = scope.rule_for_book(session, codes=groups_of(session, book, day), day=day)
        findings = [
            Finding(
                kind=EntryKind(e.kind),
                code=e.item_code,
                performed_on=e.performed_on,
                result=Result(e.result) if e.result else None,
            )
            for e in current_entries(session=session, book_id=book.id)
            if EntryKind(e.kind) in CLINICAL_KINDS
        ]
        verdict = assess(
            group,
            findings,
            sex=person.sex if person else "",
            today=day,
            age=scope.age_of(person, day),
            occasion=scope.occasion_of(session, book=book, actor=actor, day=day),
        )
        if verdict.missing or verdict.overdue:  # the unverified requirements are said so (C-52)
            missing, overdue = scope.items_label(verdict.missing, group), scope.items_label(verdict.overdue, group)
            raise ClearanceIncomplete(missing=missing, overdue=overdue)
        if verdict.contraindicated:
            raise Contraindication(items=items_label(verdict.contraindicated))
        infections.refuse_if_barred(session, book, day)  # C-30: an active diagnosis that bars the work
        valid_until = verdict.valid_until
    entry = _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind.CLEARANCE,
        performed_on=day,
        clearance=data.decision.value,
        valid_until=valid_until,
        result_text=data.note,
    )
    if data.decision is Decision.SUSPENDED:  # the worker and her employer are told (C-30); no referral here
        notify_suspended(session, book=book, suspension=entry, clinic_id=None, now=now)
    return entry
