"""The journal entry as a signable record: registered with the trust layer when medbook is imported (C-40).

Signing is what makes an entry count (C-06, C-40): a signed clearance can be sealed, and a signed correction takes
effect, so the seals that relied on the entry it corrects are withdrawn then, not when it was written (C-41).
"""

from __future__ import annotations

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.facilities.models import Entity
from emhana.kernel.errors import EntryNotFound
from emhana.medbook import seal
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.trust.signatures import canonical
from emhana.trust.signatures.records import RecordKind, Signable, SignableKind, register


def load_entry(session: Session, record_id: int) -> Signable:
    """Return a journal entry's signable view: its canonical form, or a correction's (C-13, C-41)."""
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


def mark_entry_signed(session: Session, record_id: int) -> None:
    """Set the entry's ``signature_state`` to ``signed`` (entries are otherwise append-only); a signed correction
    now supersedes its entry, so the seals that relied on that entry are withdrawn (C-40, C-41)."""
    entries = JournalEntry.__table__
    assert isinstance(entries, Table)
    session.execute(update(entries).where(entries.c.id == record_id).values(signature_state=seal.SIGNED))
    loaded = session.get(JournalEntry, record_id)
    if loaded is not None:
        session.expire(loaded, ["signature_state"])
        seal.correction_signed(session, loaded)
        seal.grant_signed(session, loaded)


register(
    SignableKind(
        kind=RecordKind.MEDBOOK_ENTRY,
        load=load_entry,
        signers=Can.SIGN_MEDBOOK_ENTRY,  # the author, or the organization's MIS on the author's behalf (C-40)
        author_signs=True,
        on_signed=mark_entry_signed,
    )
)
