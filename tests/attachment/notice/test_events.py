"""What each attachment decision tells whom (A-54, A-06, A-91..A-94): a message per decision, queued in the
outbox in the decision's own transaction, on the real database."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import placement
from emhana.attachment.application import service
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import Channel, EndReason
from emhana.attachment.schemas import ApplicationIn, DecisionIn
from emhana.facilities.rules import InclusionStatus
from emhana.facilities.service import get_entity, set_inclusion
from emhana.identity.models import Person
from emhana.kernel import errors
from tests.builders.attachment import AFTER_WINDOW, IN_WINDOW, Country
from tests.builders.notices import LATER, apply, contact, outbox

D = dt.date


def test_a54_a06_each_decision_queues_its_message_and_a_transfer_tells_the_losing_organization(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    pid = person()
    contact(sessions, pid)
    first = apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    change = apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("B1", 1)])
    rows = outbox(sessions)
    assert [(r.template, r.recipient_kind, r.recipient_id) for r in rows] == [
        ("attachment.approved", "person", pid),
        ("attachment.approved", "person", pid),
        ("attachment.transfer_out", "entity", country.a),
    ]
    assert [(r.language, r.channel, r.address) for r in rows[:2]] == [("kk", "email", "dana@example.kz")] * 2
    assert (rows[2].language, rows[2].channel) == ("ru", "log")  # no contact known: Russian, the log
    assert json.loads(rows[0].params)["application_id"] == first.id
    assert json.loads(rows[1].params)["begin"] == "2026-01-01" and json.loads(rows[2].params)["begin"] == "2026-01-01"
    assert {r.state for r in rows} == {"pending"} and rows[0].dedupe_key != rows[1].dedupe_key
    with sessions() as s:
        iin = s.get_one(Person, pid).iin
    assert iin not in rows[2].params and iin[-4:] in rows[2].params
    assert change.id != first.id


def test_a_refused_application_tells_the_applicant_and_a_refused_submission_queues_nothing(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    dead = person(death=D(2025, 1, 1))
    with pytest.raises(errors.PersonDead):
        apply(sessions, citizen(dead), person_id=dead, district_id=country.districts[("A1", 1)])
    assert outbox(sessions) == []  # the rollback took the message too
    pid = person()
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    scan = service.Upload(file_name="a.png", content_type="image/png", content=b"png")
    with sessions.begin() as s:
        app = service.submit(
            session=s,
            actor=registrar,
            data=ApplicationIn(
                person_id=pid, district_id=country.districts[("A1", 1)], documents=[{"kind": "id_card", "number": "1"}]
            ),
            channel=Channel.WRITTEN,
            uploads=(scan,),
            now=IN_WINDOW,
        )
        app_id = app.id
    assert outbox(sessions) == []  # queued for the registrar: no decision yet
    with sessions.begin() as s:
        service.decide(
            session=s,
            actor=registrar,
            application_id=app_id,
            expected_version=1,
            data=DecisionIn(decision="refuse", reason_code="attachment.documents_inaccurate"),
            now=LATER,
        )
        s.rollback()
    assert outbox(sessions) == []
    with sessions.begin() as s:
        service.decide(
            session=s,
            actor=registrar,
            application_id=app_id,
            expected_version=1,
            data=DecisionIn(decision="refuse", reason_code="attachment.documents_inaccurate"),
            now=LATER,
        )
    (row,) = outbox(sessions)
    assert (row.template, row.recipient_id, row.language) == ("attachment.refused", pid, "ru")
    assert json.loads(row.params)["reason_code"] == "attachment.documents_inaccurate"


def test_daily_job_detachment_and_redistribution_tell_the_person(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    alive, dying, leaving = person(), person(), person()
    for pid in (alive, dying, leaving):
        apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    with sessions.begin() as s:
        s.get_one(Person, dying).death_date = D(2025, 10, 5)
        placement.run_daily(session=s, actor=None, day=D(2025, 11, 2))
        placement.detach(
            session=s,
            actor=None,
            person_id=leaving,
            reason=EndReason.EMIGRATION,
            on=D(2025, 11, 5),
            today=D(2025, 11, 2),
        )
    later = [(r.template, r.recipient_id) for r in outbox(sessions)[3:]]
    # a death ends the attachment without a message; in effect and emigration are told.
    assert sorted(later) == sorted(
        [("attachment.in_effect", alive), ("attachment.in_effect", leaving), ("attachment.detached", leaving)]
    )
    detached = next(r for r in outbox(sessions) if r.template == "attachment.detached")
    assert json.loads(detached.params)["reason_code"] == "emigration"


def test_a94_redistribution_tells_each_person_where_they_are_now(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    people = [person() for _ in range(2)]
    for pid in people:
        apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("B1", 1)], at=AFTER_WINDOW)
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        set_inclusion(
            session=s,
            actor=fund,
            entity=get_entity(session=s, entity_id=country.b),
            status=InclusionStatus.EXCLUDED,
            effective_from=D(2025, 12, 20),
            reason="licence revoked",
        )
    with sessions.begin() as s:
        placement.redistribute(
            session=s,
            actor=fund,
            entity_id=country.b,
            on=D(2025, 12, 20),
            today=D(2025, 12, 10),
            policy=policy_for(s, D(2025, 12, 10)),
        )
    moved = [r for r in outbox(sessions) if r.template == "attachment.redistributed"]
    assert sorted(r.recipient_id for r in moved) == sorted(people)
    assert all(json.loads(r.params)["begin"] == "2025-12-20" for r in moved)
