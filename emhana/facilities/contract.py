"""The Fund contract of an entity (B-03, B-06): the Fund records that a contract ends early (terminated or not
renewed); from the next day the entity no longer takes part, and the processes above redistribute its attached
people exactly as after an exclusion (``facilities.events``, A-94)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities import events
from emhana.facilities.models import Entity
from emhana.kernel.errors import InvalidDates, NotFound
from emhana.kernel.i18n import N_

REASON_NOT_EARLIER = N_("the contract's new last day must come before the one recorded")


def lost(before: dt.date | None, after: dt.date | None) -> bool:
    """Tell whether a change of a contract's last day takes the contract away earlier (B-06): an open contract
    given an end, or an end brought forward. Extending or removing an end loses nothing."""
    return after is not None and (before is None or after < before)


def end_contract(*, session: Session, actor: Actor | None, entity_id: int, last_day: dt.date, reason: str) -> Entity:
    """Record that an entity's Fund contract ends on ``last_day`` (B-06) and, in the same transaction, tell the
    subscribers (the attachment campaign redistributes its people from the next day, A-94)."""
    entity = session.scalar(select(Entity).where(Entity.id == entity_id).with_for_update(key_share=True))
    if entity is None:
        raise NotFound()
    if not lost(entity.contract_to, last_day):
        raise InvalidDates(reason=REASON_NOT_EARLIER)
    entity.contract_to = last_day
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="entity.contract_ended",
        object_type="entity",
        object_id=str(entity.id),
        purpose=f"{last_day.isoformat()} {reason}"[:200],
    )
    events.contract_ended(session, actor, entity.id, last_day)
    return entity
