"""A change outside the campaign for a valid reason (A-42) and the change quota (A-41), as the apply forms
need them before anything is filed: what the rules will ask of this person today, read once, decided by
the pure rules (``rules.relocated``, ``rules.check_relocation``, ``rules.cause_of``).

``current_facts`` builds the rules' view of the running attachment (with whether the person has moved since
it was decided); ``outlook`` tells a form whether the campaign is open, whether this application would use
the year's voluntary change, replace an approved change not yet in effect, and which reasons of A-42 hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment import facts
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import Cause, ChangeReason, PlaceBasis
from emhana.attachment.facts import Address, Period
from emhana.attachment.placement import basis_address
from emhana.attachment.rules import CurrentFacts, relocated, window_open
from emhana.attachment.schemas import OutlookOut
from emhana.identity.models import Person, PersonAddress
from emhana.identity.service import may_read
from emhana.kernel.errors import Forbidden, NotFound

REASONS = tuple(r.value for r in ChangeReason)


def current_facts(addresses: Iterable[Address], current: Period | None, address: Address | None) -> CurrentFacts | None:
    """Return the running attachment as the rules see it: its district, whether its organization still takes
    part (A-42 closure) and whether the person has moved since it was decided (A-42 relocation)."""
    if current is None:
        return None
    known = tuple(addresses)
    then = basis_address(known, PlaceBasis(current.place_basis), current.decided_on)
    moved = relocated(
        since=current.decided_on,
        then=(then.id, then.kato_code) if then else None,
        now=(address.id, address.kato_code, address.valid_from) if address else None,
    )
    return CurrentFacts(district_id=current.district_id, entity_participating=current.participating, moved=moved)


def _voluntary(history: Sequence[Period], year: int) -> int:
    """Return the voluntary changes decided for a person in a calendar year (A-41)."""
    return sum(1 for a in history if a.cause == Cause.VOLUNTARY_CHANGE.value and a.decided_on.year == year)


@dataclass(frozen=True)
class Outlook:
    """What a form should tell the applicant before an application for this person is filed today."""

    window_open: bool
    attached: bool  # an attachment is running: a new one is a change
    changes_used: int  # voluntary changes decided this calendar year
    changes_allowed: int
    pending_change: Period | None  # an approved change not yet in effect, which a new one would replace
    closure_holds: bool  # the current organization no longer takes part
    moved: bool  # the state databases show a move since the current attachment

    @property
    def uses_quota(self) -> bool:
        """Filing in the campaign while attached uses one of the year's voluntary changes (A-41)."""
        return self.window_open and self.attached

    @property
    def quota_spent(self) -> bool:
        return self.changes_used >= self.changes_allowed

    @property
    def needs_reason(self) -> bool:
        """Outside the campaign, a person already attached changes only for a valid reason (A-42)."""
        return self.attached and not self.window_open


def outlook(
    *, session: Session, actor: Actor, person_id: int, day: dt.date, basis: PlaceBasis = PlaceBasis.RESIDENCE_PERMANENT
) -> Outlook:
    """Return the outlook of an application for a person the actor may read (no record of a read: it shows
    only what the applicant's own form needs, and the form's read is logged by the page's other reads)."""
    if not may_read(session=session, actor=actor, person_id=person_id, day=day):
        raise Forbidden()  # before existence: no oracle of which ids exist
    if session.get(Person, person_id) is None:
        raise NotFound()
    history = facts.periods(session.connection(), person_id, day)
    addresses = tuple(  # read without the lock a decision takes: nothing is decided here
        Address(id=a.id, kind=a.kind, kato_code=a.kato_code, valid_from=a.valid_from, valid_to=a.valid_to)
        for a in session.scalars(select(PersonAddress).where(PersonAddress.person_id == person_id))
    )
    policy = policy_for(session, day)
    current = next((a for a in history if a.end_date is None), None)
    pending = current if current is not None and current.begin_date > day else None
    address = basis_address(addresses, basis, day)
    cur = current_facts(addresses, current, address)
    return Outlook(
        window_open=window_open(policy, day),
        attached=current is not None,
        changes_used=_voluntary(history, day.year),
        changes_allowed=policy.max_voluntary_changes_per_year,
        pending_change=pending if pending is not None and pending.cause == Cause.VOLUNTARY_CHANGE.value else None,
        closure_holds=cur is not None and not cur.entity_participating,
        moved=cur is not None and cur.moved,
    )


def holding(view: Outlook) -> list[ChangeReason]:
    """Return the reasons of A-42 the registry's data support today (relocation on a recorded move, closure
    when the current organization no longer takes part)."""
    return [r for r, ok in ((ChangeReason.RELOCATION, view.moved), (ChangeReason.CLOSURE, view.closure_holds)) if ok]


def outlook_out(view: Outlook, person_id: int) -> OutlookOut:
    """Return an outlook as the JSON API shows it."""
    return OutlookOut(
        person_id=person_id,
        window_open=view.window_open,
        attached=view.attached,
        needs_reason=view.needs_reason,
        reasons=holding(view),
        uses_quota=view.uses_quota,
        changes_used=view.changes_used,
        changes_allowed=view.changes_allowed,
        replaces_change_from=view.pending_change.begin_date if view.pending_change else None,
    )
