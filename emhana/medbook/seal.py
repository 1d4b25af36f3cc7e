"""The facility's QR seal on a medical book with a current clearance (docs/credentials.md §6, C-41).

One named door, ``seal_for``, turns a book and its clearance entry into a `KZMB1:` text through the trust
component (emhana.trust.seals.kzmb1). Signing goes through a ``SealIssuer``; ``default_signers`` is the facilities'
document-signer keys kept in the database (emhana.trust.scheme.issue.DatabaseSealIssuer: every seal registered,
``exp`` capped at the signer certificate's notAfter). The seal of a clearance entry is kept in
``medbook_seal`` and reused while it still says the same, is in force and the register lists it as valid.
A new clearance decision, or a signed correction of an entry the clearance relied on, marks the earlier seals
superseded (``withdraw``, ``correction_signed``), so a verifier shows them as replaced by a newer version. A
suspension revokes them with the reason "suspended" (``suspend``), so a verifier says "clearance suspended" (C-30).

Signatures count (C-06, C-40): a clearance is sealed only once its clinician signed it with their NCA RK key
(verified with path and CRL by emhana.trust.signatures; ``signature_state`` is then ``signed``); until then the
book says "awaiting signature" (``awaits_signature``). What a seal asserts, the dates of its sections, counts
signed entries only, and an entry stays in force until a *signed* correction supersedes it. Its record hash
(§6.3 key 8) is over the clinician's CMS of the clearance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.facilities.models import Entity
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from emhana.medbook.models import ClearanceSeal, JournalEntry, MedicalBook
from emhana.medbook.rules import CONTRAINDICATING, ClearanceStatus, EntryKind, status_on
from emhana.trust.lists.revocation import cti_hash
from emhana.trust.models import DocumentSigner, IssuedSeal
from emhana.trust.scheme import issue as seals
from emhana.trust.scheme.signers import REVOKED, utc
from emhana.trust.seals import cose
from emhana.trust.seals import kzmb1 as trust_seal
from emhana.trust.seals.cwt import MAX_CATEGORY, RECORD_HASH_LENGTH, Clearance, Section, read_claims
from emhana.trust.seals.cwt import ClearanceStatus as SealStatus
from emhana.trust.signatures.models import RecordSignature
from emhana.trust.signatures.records import RecordKind

SIGNED = "signed"  # JournalEntry.signature_state once its author's signature is verified and stored

SECTIONS = {
    EntryKind.SPECIALIST_EXAM: Section.EXAM,
    EntryKind.LAB_RESULT: Section.LAB,
    EntryKind.XRAY: Section.XRAY,
    EntryKind.VACCINATION: Section.VACCINATION,
}


class SealIssuer(Protocol):
    """Signs a clearance summary with the facility's document-signer key (HSM/KMS or the database in production)."""

    def issue(
        self, session: Session, entity: Entity, clearance: Clearance, *, expires_at: dt.datetime, now: dt.datetime
    ) -> str | None:
        """Return the `KZMB1:` text, expiring at ``expires_at`` or at the signer's notAfter if earlier; None when
        the facility has no signer (then the PDF carries no seal)."""
        ...


_default: SealIssuer = seals.DatabaseSealIssuer()


def default_signers() -> SealIssuer:
    """Return the seal issuer of the process: the facilities' DSCs in the database (§6.1)."""
    return _default


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), KZ_TIME)


def is_signed(entry: JournalEntry) -> bool:
    """Tell whether an entry's author signed it (C-06, C-40): only then does it count for a seal."""
    return entry.signature_state == SIGNED


def awaits_signature(clearance: JournalEntry | None, today: dt.date) -> bool:
    """Tell whether a book's clearance in force is a grant still awaiting its clinician's signature (no seal yet)."""
    return (
        clearance is not None
        and not is_signed(clearance)
        and status_on(clearance.clearance, clearance.valid_until, today) is ClearanceStatus.GRANTED
    )


def superseded_by_signed() -> Select[int | None]:
    """Return a query of the entries a signed correction superseded (an unsigned one is pending, C-40, C-41)."""
    return select(JournalEntry.supersedes_id).where(
        JournalEntry.supersedes_id.is_not(None), JournalEntry.signature_state == SIGNED
    )


def record_hash(session: Session, clearance: JournalEntry) -> bytes:
    """Return the hash a clearance's seals carry (§6.3 key 8): over the clinician's CMS of the clearance record,
    or over its canonical bytes while it is unsigned (no seal is issued then; withdrawals still find it)."""
    signature = session.scalar(
        select(RecordSignature.cms).where(
            RecordSignature.record_kind == RecordKind.MEDBOOK_ENTRY.value, RecordSignature.record_id == clearance.id
        )
    )
    return hashlib.sha256(signature if signature is not None else clearance.canonical).digest()[:RECORD_HASH_LENGTH]


def reference_of(session: Session, clearance: JournalEntry) -> str:
    """Return the register reference of the seals of a clearance entry (the hash its seals carry, §6.3 key 8)."""
    return seals.record_reference(record_hash(session, clearance))


def summary_of(session: Session, book: MedicalBook, clearance: JournalEntry) -> Clearance | None:
    """Return what the seal of a clearance entry says, or None when its person is missing (§6.3); the section
    dates count signed entries in force only."""
    person = session.get(Person, book.person_id)
    if person is None:
        return None
    dates: dict[Section, dt.date] = {}
    for e in session.scalars(
        select(JournalEntry).where(
            JournalEntry.book_id == book.id,
            JournalEntry.kind.in_([k.value for k in SECTIONS]),
            JournalEntry.performed_on <= clearance.performed_on,
            JournalEntry.signature_state == SIGNED,
            JournalEntry.id.not_in(superseded_by_signed()),
        )
    ):
        section = SECTIONS[EntryKind(e.kind)]
        if e.result not in CONTRAINDICATING and (section not in dates or e.performed_on > dates[section]):
            dates[section] = e.performed_on
    # C-41: every new clearance is a new version of the summary (rv), so a reader sees which one is current.
    version = (
        session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(
                JournalEntry.book_id == book.id,
                JournalEntry.kind == EntryKind.CLEARANCE.value,
                JournalEntry.id <= clearance.id,
            )
        )
        or 1
    )
    return Clearance(
        name=" ".join(p for p in (person.surname, person.given_name) if p),
        birth_date=person.birth_date,
        status=SealStatus.FIT,
        categories=(book.group_code,) if len(book.group_code) <= MAX_CATEGORY else (),
        dates=tuple(sorted(dates.items())),
        record_version=version,
        record_hash=record_hash(session, clearance),  # §6.3 key 8: over the clinician's CMS
    )


def _digest(summary: Clearance) -> str:
    return hashlib.sha256(repr(summary).encode("utf-8")).hexdigest()


def _reusable(session: Session, kept: ClearanceSeal, digest: str, now: dt.datetime) -> bool:
    """Tell whether a kept seal still says the same, is in force, and is valid in the register."""
    if kept.summary_sha256 != digest or utc(kept.expires_at) <= now:
        return False
    if kept.seal_id is None:
        return True
    row = session.execute(
        select(IssuedSeal.status, DocumentSigner.status)
        .join(DocumentSigner, DocumentSigner.id == IssuedSeal.dsc_id)
        .where(IssuedSeal.id == kept.seal_id)
    ).first()
    return row is not None and row[0] == seals.VALID and row[1] != REVOKED


def _keep(session: Session, entry_id: int, text: str, digest: str, now: dt.datetime) -> str:
    """Store the seal of a clearance entry in place of the one kept before; return the seal kept."""
    message = cose.decode_sign1(trust_seal.decode_transport(text))
    claims = read_claims(cose.loads_strict(message.payload))
    kid = message.kid or b""
    seal_id = session.scalar(
        select(IssuedSeal.id).where(IssuedSeal.kid == kid.hex(), IssuedSeal.cti_hash == cti_hash(kid, claims.cti))
    )
    expires = dt.datetime.fromtimestamp(claims.expires_at, dt.UTC)
    kept = session.get(ClearanceSeal, entry_id)
    if kept is not None:
        kept.seal_id, kept.summary_sha256, kept.text, kept.issued_at, kept.expires_at = (
            seal_id,
            digest,
            text,
            now,
            expires,
        )
        session.flush()
        return text
    try:
        with session.begin_nested():
            session.add(
                ClearanceSeal(
                    entry_id=entry_id,
                    seal_id=seal_id,
                    summary_sha256=digest,
                    text=text,
                    issued_at=now,
                    expires_at=expires,
                )
            )
    except IntegrityError:  # kept meanwhile by a concurrent request: show theirs, ours stays unused
        found = session.get(ClearanceSeal, entry_id)
        if found is None:
            raise
        return found.text
    return text


def seal_for(
    session: Session,
    book: MedicalBook,
    clearance: JournalEntry | None,
    *,
    now: dt.datetime,
    signers: SealIssuer | None = None,
) -> str | None:
    """Return the `KZMB1:` seal of a book's current clearance, or None when there is nothing to seal.

    Only a granted clearance still in force and signed by its clinician is sealed (C-06, C-20, C-21); the seal
    carries name, birth date, the decreed group, the dates of the latest clean signed items, the record version
    and a hash of the clinician's CMS of the clearance, never the IIN or clinical content (docs/credentials.md
    §6.3). It expires when the clearance does,
    never after the signer's certificate (§6.5). The seal kept for the entry is returned while it stands;
    otherwise a new one is issued and kept.
    """
    today = now.astimezone(KZ_TIME).date()
    if (
        clearance is None
        or clearance.book_id != book.id
        or not is_signed(clearance)
        or clearance.valid_until is None
        or status_on(clearance.clearance, clearance.valid_until, today) is not ClearanceStatus.GRANTED
    ):
        return None
    if _start_of(clearance.valid_until) <= now:
        return None
    entity = session.get(Entity, clearance.entity_id)  # the clinic that granted it seals it (issue 15), not the issuer
    summary = summary_of(session, book, clearance)
    if entity is None or summary is None:
        return None
    digest = _digest(summary)
    kept = session.get(ClearanceSeal, clearance.id)
    if kept is not None and _reusable(session, kept, digest, now):
        return kept.text
    text = (signers or default_signers()).issue(
        session, entity, summary, expires_at=_start_of(clearance.valid_until), now=now
    )
    if text is None:
        return None
    if kept is not None:  # what the kept seal said has changed: the new one replaces it (C-41)
        seals.supersede_reference(session, reference=reference_of(session, clearance), replacement=text, now=now)
    return _keep(session, clearance.id, text, digest, now)


def withdraw(
    session: Session,
    *,
    book_id: int,
    recorded_after: int | None = None,
    keep: int | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Mark superseded the seals of a book's clearance entries (C-41, §6.5); return how many seals.

    With ``recorded_after`` only the clearances recorded after that entry (those that relied on it, when it is
    corrected); ``keep`` is a clearance entry whose seals stay. The kept texts are dropped, so the next page or
    PDF of a clearance still in force gets a new seal.
    """
    query = (
        select(ClearanceSeal)
        .join(JournalEntry, JournalEntry.id == ClearanceSeal.entry_id)
        .where(JournalEntry.book_id == book_id)
    )
    if recorded_after is not None:
        query = query.where(JournalEntry.id > recorded_after)
    if keep is not None:
        query = query.where(JournalEntry.id != keep)
    count = 0
    for kept in list(session.scalars(query)):
        entry = session.get(JournalEntry, kept.entry_id)
        assert entry is not None
        count += seals.supersede_reference(session, reference=reference_of(session, entry), actor=actor, now=now)
        session.delete(kept)
    session.flush()
    return count


def suspend(
    session: Session,
    *,
    book_id: int,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Revoke with the reason "suspended" the seals of a book's granted clearances (C-30, §6.5); return how many.

    A suspended worker's seal must not read "replaced by a newer version": no newer seal exists until a new
    clearance after negative controls (C-31), which issues a new seal under its own record. The kept texts are
    dropped, so no page or PDF shows a suspended seal again.
    """
    granted = list(
        session.scalars(
            select(JournalEntry).where(
                JournalEntry.book_id == book_id,
                JournalEntry.kind == EntryKind.CLEARANCE.value,
                JournalEntry.clearance == ClearanceStatus.GRANTED.value,
            )
        )
    )
    count = 0
    for entry in granted:
        count += seals.suspend_reference(session, reference=reference_of(session, entry), actor=actor, now=now)
        kept = session.get(ClearanceSeal, entry.id)
        if kept is not None:
            session.delete(kept)
    session.flush()
    return count


def grant_signed(session: Session, entry: JournalEntry, *, now: dt.datetime | None = None) -> int:
    """Withdraw the earlier clearances' seals now that a grant is signed and so in force (C-41); return how many.
    An unsigned grant counts for nothing (emhana.medbook.service.counts) and changes no seal."""
    if entry.kind != EntryKind.CLEARANCE.value or entry.clearance != ClearanceStatus.GRANTED.value:
        return 0
    return withdraw(session, book_id=entry.book_id, keep=entry.id, now=now)


def correction_signed(session: Session, correction: JournalEntry, *, now: dt.datetime | None = None) -> int:
    """Withdraw the seals that relied on the entry a correction supersedes, now that the correction is signed
    and so in force (C-40, C-41); return how many. An unsigned correction is pending and changes no seal."""
    if correction.supersedes_id is None:
        return 0
    return withdraw(session, book_id=correction.book_id, recorded_after=correction.supersedes_id, now=now)
