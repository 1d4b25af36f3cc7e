"""What the attachment campaign does when the layers below it tell of a change: an entity excluded from the
database moves its attached people to the nearest participating sites with free places (A-94, B-06)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment import placement
from emhana.attachment.campaign import policy
from emhana.facilities import events
from emhana.kernel import clock


@events.on_excluded
def redistribute_after_exclusion(session: Session, actor: Actor | None, event: events.EntityExcluded) -> None:
    """Redistribute the excluded entity's attached people from the exclusion day (A-94)."""
    day = clock.today()
    placement.redistribute(
        session=session,
        actor=actor,
        entity_id=event.entity_id,
        on=event.effective_from,
        today=day,
        policy=policy.policy_for(session, day),
    )
