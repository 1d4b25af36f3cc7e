"""The path of a decision, shared by an application filed (automatic) and one decided by a registrar:
gather the facts in Core statements under the locks, apply the pure rules, and on approval write the
attachment, the audit events and the outbox rows without going through the ORM's unit of work.

Locks are taken in one order: the person row first, the district row last (just before its load is
counted), so concurrent transactions queue instead of deadlocking, and two choosing the last free
place of a district are decided one after the other (A-80).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from emhana.attachment import facts
from emhana.attachment.application.reasons import current_facts
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import Cause, ChangeReason, Channel, PlaceBasis
from emhana.attachment.facts import Period, PersonRow, Target
from emhana.attachment.notice import approval_rows as notices
from emhana.attachment.notice import supersede
from emhana.attachment.placement import basis_address, place
from emhana.attachment.rules import (
    ApplicationFacts,
    Decision,
    DocumentFacts,
    PersonFacts,
    TargetFacts,
    evaluate,
)
from emhana.attachment.writes import Events, NewAttachment
from emhana.kernel.errors import InvalidInput, NotFound
from emhana.kernel.fastsql import Fast


def running(history: Sequence[Period]) -> Period | None:
    """Return the open attachment among a person's history (at most one, A-01)."""
    return next((a for a in history if a.end_date is None), None)


def voluntary_changes(history: Sequence[Period], year: int) -> int:
    """Return the voluntary changes decided for a person in a calendar year (A-41)."""
    return sum(1 for a in history if a.cause == Cause.VOLUNTARY_CHANGE.value and a.decided_on.year == year)


# The person's lock, with whether the decision has earlier notices to supersede: most have none, and skip
# that read (placement.place).
LOCK_PERSON = Fast(facts.LOCK_PERSON.add_columns(supersede.sealed(facts.PERSON.c.id)))


@dataclass(frozen=True)
class Gathered:
    """The person (locked), the target and the person's history, read in two statements."""

    person: PersonRow
    target: Target
    history: list[Period]


def gather(session: Session, *, person_id: int, district_id: int, applicant_id: int, day: dt.date) -> Gathered:
    """Lock the person and read the target and the history; NotFound for a missing person or district,
    or an inactive district or site."""
    conn = session.connection()
    person = facts.lock_person(conn, person_id, LOCK_PERSON)
    if person is None:
        raise NotFound()
    target, history = facts.target_and_periods(
        conn, district_id=district_id, person_id=person_id, applicant_id=applicant_id, day=day
    )
    if target is None or not target.district_active or not target.site_active:
        raise NotFound()
    return Gathered(person=person, target=target, history=history)


@dataclass(frozen=True)
class Claim:
    """What an application asks, as the rules see it."""

    by_self: bool
    representative_valid: bool
    channel: Channel
    documents: tuple[DocumentFacts, ...]
    basis: PlaceBasis
    border_claim: bool
    reason: ChangeReason | None
    filed_on: dt.date
    pregnant: bool = False  # A-23 (M)


def judge(session: Session, g: Gathered, claim: Claim, today: dt.date, reviewed: bool) -> Decision:
    """Lock the target district, count its load and apply every rule (docs/domain.md §1)."""
    policy = policy_for(session, claim.filed_on)
    # The target's row and that of the district the person leaves (its load falls), in id order.
    leaving = [a.district_id for a in g.history if a.end_date is None]
    load = facts.lock_district_load(session.connection(), g.target.district_id, leaving)
    if load is None:
        raise NotFound()
    capacity, attached = load
    current = running(g.history)
    address = basis_address(g.person.addresses, claim.basis, today)
    t = g.target
    return evaluate(
        ApplicationFacts(
            filed_on=claim.filed_on,
            today=today,
            policy=policy,
            person=PersonFacts(
                birth_date=g.person.birth_date, death_date=g.person.death_date, category=g.person.category
            ),
            by_self=claim.by_self,
            representative_valid=claim.representative_valid,
            channel=claim.channel,
            documents=claim.documents,
            basis=claim.basis,
            address_kato=address.kato_code if address else None,
            border_claim=claim.border_claim,
            reason=claim.reason,
            target=TargetFacts(
                entity_participating=t.included,
                contract_to=t.contract_to,
                # checked on the day the attachment takes effect (rules.check_effective)
                included_to=t.included_to if t.included else None,
                district_id=t.district_id,
                profile=t.profile,
                capacity=capacity,
                attached=attached,
                site_kato=t.site_kato,
            ),
            current=current_facts(g.person.addresses, current, address),
            voluntary_changes_this_year=voluntary_changes(g.history, claim.filed_on.year),
            reviewed=reviewed,
            pregnant=claim.pregnant,
        )
    )


def approve(
    session: Session,
    events: Events,
    g: Gathered,
    decision: Decision,
    *,
    application_id: int,
    applicant_id: int,
    basis: PlaceBasis,
    filed_on: dt.date,
    decided_on: dt.date,
    moment: dt.datetime,
    care_at_home: bool | None = None,
) -> int:
    """Close the running attachment, open the new one and queue the notices; return the new attachment's id.

    ``care_at_home`` is the home-visit agreement of A-26, recorded only for a person outside the zone."""
    if decision.cause is None or decision.begin_date is None:
        raise InvalidInput()
    lost = running(g.history)
    t = g.target
    new_id, _ = place(
        session,
        events,
        NewAttachment(
            person_id=g.person.id,
            entity_id=t.entity_id,
            site_id=t.site_id,
            district_id=t.district_id,
            doctor_id=t.doctor_id,
            basis=basis,
            cause=decision.cause,
            begin=decision.begin_date,
            decided_on=decided_on,
            insured_until=decision.insured_until,
            application_id=application_id,
            care_at_home=care_at_home if decision.outside_zone else None,
        ),
        g.history,
        now=moment,
        sealed_notices=g.person.sealed_notices,
    )
    notices.approved(
        session,
        application_id=application_id,
        filed_on=filed_on,
        applicant_id=applicant_id,
        person=g.person,
        target=t,
        begin=decision.begin_date,
        lost=lost,
        now=moment,
    )
    return new_id
