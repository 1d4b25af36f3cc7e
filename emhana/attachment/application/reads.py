"""A person's attachments read on the event loop (PostgreSQL): ``service.person_record`` with the same checks in
the same order, its statements batched with other requests' (``emhana.kernel.batched``).

The statements are the synchronous read's own (``service.PERSON_HISTORY``, ``service.PERSON_APPLICATIONS``, and
for the checks identity's: ``identity.reads``), so both paths answer from the same SQL. The answers come in the
same order: Forbidden before anything is read of the person (no oracle of which ids exist), then
PurposeRequired, then NotFound. The read's audit event is returned with the record, for the caller to log before
it answers (``emhana.web.reads.AsyncReads.log``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from emhana.accounts.policy import organization_of
from emhana.accounts.service import Actor
from emhana.attachment.application import service
from emhana.attachment.application.service import ApplicationRow, AttachmentRow, DocumentRow, PersonRecord
from emhana.identity import reads as identity_reads
from emhana.kernel.batched import Batched, Reader
from emhana.kernel.errors import Forbidden, NotFound

_PERSON = {"person": "bigint"}
_OWN = {"person": "bigint", "entity": "bigint"}

HISTORY = {
    own: Batched.of(f"attachment.history.{own}", service.PERSON_HISTORY[own].stmt, _OWN if own else _PERSON)
    for own in (False, True)
}
APPLICATIONS = {
    own: Batched.of(f"attachment.applications.{own}", service.PERSON_APPLICATIONS[own].stmt, _OWN if own else _PERSON)
    for own in (False, True)
}


async def person_record(
    *, reads: Reader, actor: Actor, person_id: int, today: dt.date, purpose: str = "history of attachments"
) -> tuple[PersonRecord, Mapping[str, Any]]:
    """``service.person_record`` on the event loop: the record, and the audit event of its read (to be logged
    before the answer)."""
    if not await identity_reads.may_read(reads, actor, person_id, today):
        raise Forbidden()  # before existence: no oracle of which ids exist (tests/hardening/test_data_access.py)
    own_only = service.staff_only_own(actor)
    params = {"person": person_id, "entity": actor.entity_id} if own_only else {"person": person_id}
    rows = await reads.rows(HISTORY[own_only], params)
    history = [AttachmentRow._make(r[1:-1]) for r in rows if r[1] is not None]
    attached = next((a.entity_id for a in history if a.end_date is None), None)  # population.known_from's answer
    await identity_reads.require_purpose(reads, actor, person_id, purpose, today, attached)
    if not rows:
        raise NotFound()
    if own_only:
        organization_of(actor)  # an organization role bound to none is refused, as by person_view
    applications: list[tuple[ApplicationRow, list[DocumentRow]]] = []
    if rows[0][-1]:
        width = len(ApplicationRow._fields)
        for r in await reads.rows(APPLICATIONS[own_only], params):
            if not applications or applications[-1][0].id != r[0]:
                applications.append((ApplicationRow._make(r[:width]), []))
            if r[width] is not None:
                applications[-1][1].append(DocumentRow._make(r[width:]))
    record = PersonRecord(
        person_id=person_id,
        current=service.current_of(history, today),
        upcoming=service.upcoming_of(history, today),
        history=history,
        applications=applications,
    )
    return record, service.person_read_event(actor, person_id, purpose)
