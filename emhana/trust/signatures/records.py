"""The records that can be signed: their kinds, and the registry each owning package fills with its kind.

The trust layer knows no record table. A package whose records are signed registers a ``SignableKind`` when it
is imported (``emhana.medbook.signable``: the journal entry; ``emhana.attachment.notice.signable``: the
attachment notice): how to load the record's signable view (its canonical form), which capability of the role
matrix signs it, whether only its author signs, and what to mark on the record once it is signed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.identity.models import Person
from emhana.kernel.errors import Forbidden


class RecordKind(StrEnum):
    MEDBOOK_ENTRY = "medbook_entry"  # a journal entry or a correction (C-13, C-41)
    ATTACHMENT_NOTICE = "attachment_notice"  # an attachment notification or refusal
    ATTACHMENT_APPLICATION = "attachment_application"  # a portal application, signed by its applicant (issue 16)


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
    signer_person_id: int | None = None  # the person who signs (an application's applicant), see applicant_signs


@dataclass(frozen=True)
class SignableKind:
    """How one kind of record is signed, registered by the package that owns the record.

    ``load`` returns the record's signable view or raises NotFound/EntryNotFound; ``signers`` is the capability
    of the roles that may sign (of the record's organization); ``author_signs``: only the record's author signs (a
    ``Role.MIS_CLIENT`` on the author's behalf), and the certificate must carry the author's IIN, otherwise
    the acting person's; ``on_signed`` marks the record once its signature is stored (in the same unit of work).
    """

    kind: RecordKind
    load: Callable[[Session, int], Signable]
    signers: Can
    author_signs: bool
    on_signed: Callable[[Session, int], None] | None = None
    applicant_signs: bool = False  # the record's ``signer_person_id`` signs it herself (no organization, no BIN)


class UnregisteredKind(LookupError):
    """No package registered this kind of record (a wiring error: import the package that owns it)."""

    def __init__(self, kind: RecordKind) -> None:
        super().__init__(f"no signable kind {kind.value!r} is registered; import the package that owns it")


_KINDS: dict[RecordKind, SignableKind] = {}


def register(kind: SignableKind) -> None:
    """Register (or replace) how a kind of record is signed; called when the owning package is imported."""
    _KINDS[kind.kind] = kind


def kind_of(kind: RecordKind) -> SignableKind:
    """Return the registration of a kind; raise UnregisteredKind."""
    found = _KINDS.get(kind)
    if found is None:
        raise UnregisteredKind(kind)
    return found


def _iin_of_account(session: Session, account_id: int | None) -> str | None:
    account = session.get(Account, account_id) if account_id is not None else None
    person = session.get(Person, account.person_id) if account and account.person_id else None
    return person.iin if person else None


def signable(session: Session, kind: RecordKind, record_id: int) -> Signable:
    """Return the record's signable view; raise NotFound (or UnregisteredKind)."""
    return kind_of(kind).load(session, record_id)


def check_may_sign(actor: Actor, record: Signable) -> None:
    """Admit the record's author (or the organization's MIS on the author's behalf) for an entry (C-40), and
    the deciding organization's head or registrar for a notice (A-54), the applicant for her application; raise
    Forbidden."""
    if kind_of(record.kind).applicant_signs:
        if actor.person_id is None or actor.person_id != record.signer_person_id:
            raise Forbidden()
        if not may(actor.role, kind_of(record.kind).signers):
            raise Forbidden()
        return
    if actor.entity_id is None or actor.entity_id != record.entity_id:
        raise Forbidden()
    registration = kind_of(record.kind)
    if not may(actor.role, registration.signers):
        raise Forbidden()
    if registration.author_signs and actor.role is not Role.MIS_CLIENT and actor.account_id != record.author_account_id:
        raise Forbidden()


def expected_iin(session: Session, actor: Actor, record: Signable) -> str | None:
    """Return the IIN the signing certificate must carry: the author's for an entry, the acting person's for a
    notice (C-06, C-40, A-54), the applicant's for an application."""
    if kind_of(record.kind).applicant_signs:
        person = session.get(Person, record.signer_person_id) if record.signer_person_id is not None else None
        return person.iin if person is not None else None
    if kind_of(record.kind).author_signs:
        return _iin_of_account(session, record.author_account_id)
    return _iin_of_account(session, actor.account_id)


def mark_signed(session: Session, kind: RecordKind, record_id: int) -> None:
    """Let the owning package mark the record as signed (a journal entry's ``signature_state``)."""
    on_signed = kind_of(kind).on_signed
    if on_signed is not None:
        on_signed(session, record_id)
