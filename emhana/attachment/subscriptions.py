"""What the attachment campaign does when the layers below it tell of a change: an entity excluded from the
database, or whose Fund contract ended, moves its attached people (pending changes from 1 January included) to the
nearest participating sites, over capacity when none has a free place: nobody is left without a clinic (A-94,
B-06)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment import placement
from emhana.attachment.campaign import policy
from emhana.facilities import events
from emhana.kernel import clock


@events.on_excluded
def redistribute_after_exclusion(session: Session, actor: Actor | None, event: events.EntityExcluded) -> None:
    """Redistribute the people of an entity excluded or without a Fund contract from its first day out (A-94)."""
    day = clock.today()
    placement.redistribute(
        session=session,
        actor=actor,
        entity_id=event.entity_id,
        on=event.effective_from,
        today=day,
        policy=policy.policy_for(session, day),
    )
