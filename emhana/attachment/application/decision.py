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

from sqlalchemy import BigInteger, any_, bindparam, func, select
from sqlalchemy.orm import Session

from emhana.attachment import facts
from emhana.attachment.application.reasons import current_facts
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import Cause, ChangeReason, Channel, PlaceBasis
from emhana.attachment.facts import Period, PersonRow, Target
from emhana.attachment.load import DISTRICT, LOAD
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
from emhana.kernel.fastsql import Fast, Row, pipeline, pipelined


def running(history: Sequence[Period]) -> Period | None:
    """Return the open attachment among a person's history (at most one, A-01)."""
    return next((a for a in history if a.end_date is None), None)


def voluntary_changes(history: Sequence[Period], year: int) -> int:
    """Return the voluntary changes decided for a person in a calendar year (A-41)."""
    return sum(1 for a in history if a.cause == Cause.VOLUNTARY_CHANGE.value and a.decided_on.year == year)


# The person's lock, with whether the decision has earlier notices to supersede: most have none, and skip
# that read (placement.place). The person is named by the statement's own parameter: a column of the outer query would
# not be correlated two subqueries down (it would ask whether anyone's notice is sealed).
LOCK_PERSON = Fast(facts.LOCK_PERSON.add_columns(supersede.sealed(bindparam("person_id", type_=BigInteger))))


# On PostgreSQL, in the same round trip as the person's lock (``gather``): the target district's row and that of the
# district the person leaves (their running attachment's), locked in id order with their kept loads, as
# emhana.attachment.load.lock_loads locks them; and, with the target, the ids the application and its attachment
# will get.
_d, _l, _t = DISTRICT.c, LOAD.c, facts.ATTACHMENT.c
_LEAVING = (
    select(func.array_agg(_t.district_id))
    .where(_t.person_id == bindparam("person_id"), _t.end_date.is_(None))
    .scalar_subquery()
)
LOCK_LOADS = Fast(
    select(_d.id, _d.capacity, _d.active, _l.attached)
    .select_from(DISTRICT.join(LOAD, _l.district_id == _d.id))
    .where(_d.id == any_(func.array_append(_LEAVING, bindparam("district_id", type_=BigInteger))))
    .order_by(_d.id)
    .with_for_update(of=[DISTRICT, LOAD], key_share=True)
)
# The target's read with the ids the application and its attachment will get, taken from their sequences (``gather``'s
# ``new_ids``): one statement, not two. The target's row is the district's, by its key: one row (no ids taken for a
# missing district, which is refused).
NEW_IDS = (
    func.nextval(func.pg_get_serial_sequence(facts.APPLICATION.name, "id")),
    func.nextval(func.pg_get_serial_sequence(facts.ATTACHMENT.name, "id")),
)
TARGET_AND_IDS = Fast(facts.TARGET.add_columns(*NEW_IDS))


class _Read(Fast):
    """A statement's rows, read already in a pipeline, for a reader that is given a statement to run."""

    def __init__(self, rows: list[Row]) -> None:  # no statement of its own
        self._given = rows

    def rows(self, conn: object, params: object) -> list[Row]:
        return self._given


@dataclass(frozen=True)
class Gathered:
    """The person (locked), the target and the person's history, read in two statements (one round trip on
    PostgreSQL, with what ``gather`` was asked for besides)."""

    person: PersonRow
    target: Target
    history: list[Period]
    # Locked with the person on PostgreSQL: (capacity, active, open attachments) of the target district and of the
    # one the person leaves, by id (None: locked by ``judge``).
    loads: dict[int, tuple[int, bool, int]] | None = None
    documents: list[tuple[int, str, dt.date | None]] | None = None  # facts.documents_on_file, when asked for
    new_ids: tuple[int, int] | None = None  # (application, attachment) ids taken from their sequences


def gather(
    session: Session,
    *,
    person_id: int,
    district_id: int,
    applicant_id: int,
    day: dt.date,
    documents: bool = False,
    new_ids: bool = False,
) -> Gathered:
    """Lock the person and read the target and the history; NotFound for a missing person or district,
    or an inactive district or site.

    On PostgreSQL the reads go in one round trip (``fastsql.pipeline``), the person's lock first, the target with
    the next ids of an application and an attachment (``new_ids``), the history, the identity documents on file of the
    person and the applicant (``documents``), then the districts' locks with their loads (``judge`` uses them)."""
    conn = session.connection()
    params = {"district_id": district_id, "person_id": person_id, "applicant_id": applicant_id, "day": day}
    if not pipelined(conn):
        person = facts.lock_person(conn, person_id, LOCK_PERSON)
        if person is None:
            raise NotFound()
        target, history = facts.target_and_periods(
            conn, district_id=district_id, person_id=person_id, applicant_id=applicant_id, day=day
        )
        if target is None or not target.district_active or not target.site_active:
            raise NotFound()
        docs = facts.documents_on_file(conn, person_id, applicant_id) if documents else None
        return Gathered(person=person, target=target, history=history, documents=docs)
    with pipeline(conn):
        locked = LOCK_PERSON.later(conn, {"person_id": person_id})
        # Two statements, not facts.target_and_periods' one: no round trip is saved here by merging them, and
        # each stays short enough for psycopg to keep its parsed form (it parses statements over 4 kB every time).
        target_read = (TARGET_AND_IDS if new_ids else facts.FAST_TARGET).later(conn, params)
        periods_read = facts.FAST_PERIODS.later(conn, params)
        docs_read = facts.DOCUMENTS.later(conn, params) if documents else None
        loads = LOCK_LOADS.later(conn, params)
    person = facts.lock_person(conn, person_id, _Read(locked.rows))
    found = target_read.rows[0] if target_read.rows else None
    target = Target(*found[: facts.TARGET_WIDTH]) if found is not None else None
    if person is None or found is None or target is None or not target.district_active or not target.site_active:
        raise NotFound()
    return Gathered(
        person=person,
        target=target,
        history=[facts._period(r) for r in periods_read.rows],
        loads={int(i): (int(c), bool(a), int(k or 0)) for i, c, a, k in loads.rows},
        documents=[(int(p), str(k), x) for p, k, x in docs_read.rows] if docs_read is not None else None,
        new_ids=(int(found[-2]), int(found[-1])) if new_ids else None,
    )


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
    if g.loads is not None and {g.target.district_id, *leaving} <= g.loads.keys():  # locked by gather
        found = g.loads[g.target.district_id]
        load = (found[0], found[2]) if found[1] else None
    else:  # not locked yet, or a district without its load row (lock_loads gives it one)
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
    attachment_id: int | None = None,
) -> int:
    """Close the running attachment, open the new one and queue the notices; return the new attachment's id.

    ``care_at_home`` is the home-visit agreement of A-26, recorded only for a person outside the zone;
    ``attachment_id`` the new attachment's id when taken from its sequence already (``gather``'s ``new_ids``)."""
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
            id=attachment_id,
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
