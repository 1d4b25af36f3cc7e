"""Attachment use cases on the real database: transfers in one transaction, history, the queue,
capacity, detachment, redistribution and the daily job."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import placement
from emhana.attachment.application import service
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import Channel, EndReason, State
from emhana.attachment.models import Application, Attachment
from emhana.attachment.schemas import ApplicationIn, DecisionIn
from emhana.facilities.rules import InclusionStatus
from emhana.facilities.service import get_entity, set_inclusion
from emhana.identity.models import Person
from emhana.kernel import errors
from tests.builders.attachment import AFTER_WINDOW, IN_WINDOW, Country
from tests.builders.people import represent

D = dt.date


def apply(
    sessions: sessionmaker[Session],
    actor: Actor,
    *,
    person_id: int,
    district_id: int,
    channel: Channel = Channel.EGOV,
    at: dt.datetime = IN_WINDOW,
    uploads: tuple[Any, ...] = (),
    **kw: Any,
) -> Application:
    with sessions.begin() as s:
        app = service.submit(
            session=s,
            actor=actor,
            data=ApplicationIn(person_id=person_id, district_id=district_id, **kw),
            channel=channel,
            uploads=uploads,
            now=at,
        )
        s.expunge_all()
        return app


def history(sessions: sessionmaker[Session], person_id: int) -> list[Attachment]:
    with sessions() as s:
        return list(s.scalars(select(Attachment).where(Attachment.person_id == person_id).order_by(Attachment.id)))


def test_a05_a06_change_in_the_campaign_takes_effect_on_1_january_and_closes_the_old(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    pid = person()
    me = citizen(pid)
    first = apply(sessions, me, person_id=pid, district_id=country.districts[("A1", 1)])
    assert first.state == State.APPROVED.value and first.decided_by is None  # automatic
    change = apply(sessions, me, person_id=pid, district_id=country.districts[("B1", 1)])
    assert change.state == State.APPROVED.value
    old, new = history(sessions, pid)
    assert (old.cause, old.begin_date, old.end_date, old.end_reason) == (
        "first_attachment",
        D(2025, 9, 11),
        D(2025, 12, 31),
        "transfer",
    )
    assert (new.cause, new.begin_date, new.end_date, new.entity_id) == (
        "voluntary_change",
        D(2026, 1, 1),
        None,
        country.b,
    )


def test_a41_second_change_supersedes_the_scheduled_one_and_the_third_is_refused(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    counts: Callable[[], tuple[int, ...]],
) -> None:
    pid = person()
    me = citizen(pid)
    for site in ("A1", "B1", "A2"):
        apply(sessions, me, person_id=pid, district_id=country.districts[(site, 1)])
    rows = history(sessions, pid)
    assert [(r.begin_date, r.end_date, r.end_reason) for r in rows] == [
        (D(2025, 9, 11), D(2025, 12, 31), "transfer"),
        (D(2026, 1, 1), D(2025, 12, 31), "superseded"),  # never took effect; the row stays
        (D(2026, 1, 1), None, None),
    ]
    before = counts()
    with pytest.raises(errors.ChangeLimit):  # 2025 policy: two voluntary changes a year
        apply(sessions, me, person_id=pid, district_id=country.districts[("B1", 1)])
    assert counts() == before


def test_refused_application_writes_nothing(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    counts: Callable[[], tuple[int, ...]],
) -> None:
    dead = person(death=D(2025, 8, 1))
    before = counts()
    with pytest.raises(errors.PersonDead):
        apply(sessions, citizen(dead), person_id=dead, district_id=country.districts[("A1", 1)])
    assert counts() == before


def test_a24_parent_applies_for_a_child_and_a_neighbour_cannot(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    father, neighbour = person(), person()
    child = person(
        born=D(2022, 5, 1),
        sex="female",
        documents=[("birth_certificate", None)],
        addresses=[("permanent", "710000000"), ("actual", "711210000")],
    )
    represent(sessions, father, child)
    with pytest.raises(errors.RepresentativeRequired):
        apply(sessions, citizen(neighbour), person_id=child, district_id=country.districts[("A1", 2)])
    app = apply(
        sessions,
        citizen(father),
        person_id=child,
        district_id=country.districts[("A2", 1)],
        place_basis="actual_residence",
    )
    assert app.state == State.APPROVED.value and app.applicant_person_id == father


def test_written_application_waits_for_the_registrar(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    pensioner = person(born=D(1955, 1, 1))
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    scan = service.Upload(file_name="application.pdf", content_type="application/pdf", content=b"%PDF-1.4 scan")
    app = apply(
        sessions,
        registrar,
        person_id=pensioner,
        district_id=country.districts[("A1", 1)],
        channel=Channel.WRITTEN,
        uploads=(scan,),
        documents=[{"kind": "id_card", "number": "012345678"}, {"kind": "pension_certificate", "number": "PC-1"}],
    )
    assert app.state == State.SUBMITTED.value and app.review == "written"
    assert app.deadline == dt.datetime(2025, 9, 11, 13, 0, tzinfo=dt.UTC)  # 18:00 the next working day
    with sessions.begin() as s:
        assert [a.id for a in service.queue(session=s, actor=registrar)] == [app.id]
        with pytest.raises(errors.VersionConflict):
            service.decide(
                session=s,
                actor=registrar,
                application_id=app.id,
                expected_version=7,
                data=DecisionIn(decision="approve"),
                now=IN_WINDOW,
            )
    other, _ = make_actor(Role.REGISTRAR, entity_id=country.b)
    with sessions.begin() as s, pytest.raises(errors.Forbidden):
        service.decide(
            session=s,
            actor=other,
            application_id=app.id,
            expected_version=1,
            data=DecisionIn(decision="approve"),
            now=IN_WINDOW,
        )
    with sessions.begin() as s:
        done = service.decide(
            session=s,
            actor=registrar,
            application_id=app.id,
            expected_version=1,
            data=DecisionIn(decision="approve"),
            now=IN_WINDOW,
        )
        assert (done.state, done.version, done.decided_by) == ("approved", 2, registrar.account_id)
        assert service.queue(session=s, actor=registrar) == []
    with sessions.begin() as s, pytest.raises(errors.AlreadyDecided):
        service.decide(
            session=s,
            actor=registrar,
            application_id=app.id,
            expected_version=2,
            data=DecisionIn(decision="refuse", reason_code="attachment.documents_inaccurate"),
        )
    assert [r.district_id for r in history(sessions, pensioner)] == [country.districts[("A1", 1)]]


def test_registrar_refuses_with_a_reason_code(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    pid = person()
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    scan = service.Upload(file_name="a.png", content_type="image/png", content=b"png")
    app = apply(
        sessions,
        registrar,
        person_id=pid,
        district_id=country.districts[("A1", 1)],
        channel=Channel.WRITTEN,
        uploads=(scan,),
        documents=[{"kind": "id_card", "number": "1"}],
    )
    with sessions.begin() as s, pytest.raises(errors.InvalidInput):
        service.decide(
            session=s,
            actor=registrar,
            application_id=app.id,
            expected_version=1,
            data=DecisionIn(decision="refuse", reason_code="attachment.because"),
        )
    with sessions.begin() as s:
        done = service.decide(
            session=s,
            actor=registrar,
            application_id=app.id,
            expected_version=1,
            data=DecisionIn(
                decision="refuse", reason_code="attachment.documents_inaccurate", note="the scan is unreadable"
            ),
        )
        assert done.state == "refused" and done.reason_code == "attachment.documents_inaccurate"
    assert history(sessions, pid) == []


def test_registrar_records_only_for_their_entity(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    pid = person()
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.b)
    with pytest.raises(errors.Forbidden):
        apply(
            sessions,
            registrar,
            person_id=pid,
            district_id=country.districts[("A1", 1)],
            channel=Channel.IN_PERSON,
            documents=[{"kind": "id_card", "number": "1"}],
        )


def test_a80_district_count_never_exceeds_capacity(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    district = country.districts[("A1", 3)]  # therapist district with one place
    outcomes = []
    for _ in range(4):
        pid = person()
        try:
            apply(sessions, citizen(pid), person_id=pid, district_id=district)
            outcomes.append("ok")
        except errors.CapacityExceeded:
            outcomes.append("full")
    assert outcomes == ["ok", "full", "full", "full"]
    with sessions() as s:
        assert placement.attached_count(s, district) == 1


def test_a01_the_database_refuses_a_second_open_attachment(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int]
) -> None:
    pid = person()
    row = {
        "person_id": pid,
        "entity_id": country.a,
        "site_id": country.sites["A1"],
        "district_id": country.districts[("A1", 1)],
        "place_basis": "residence_permanent",
        "cause": "first_attachment",
        "begin_date": D(2025, 1, 1),
        "decided_on": D(2025, 1, 1),
    }
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add_all([Attachment(**row), Attachment(**row)])
        s.flush()


def test_daily_job_puts_in_effect_and_detaches_the_dead_and_the_uninsured(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    alive, dying = person(), person()
    migrant = person(category="eaeu_migrant", documents=[("foreign_passport", None)])
    for pid in (alive, dying):
        apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    change = apply(sessions, citizen(alive), person_id=alive, district_id=country.districts[("B1", 1)])
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    apply(
        sessions,
        registrar,
        person_id=migrant,
        district_id=country.districts[("A1", 1)],
        channel=Channel.IN_PERSON,
        documents=[
            {"kind": "foreign_passport", "number": "RU1"},
            {"kind": "insurance_contract", "number": "VMS-7", "expires_on": "2025-10-31"},
        ],
    )
    with sessions.begin() as s:
        s.get_one(Person, dying).death_date = D(2025, 10, 5)
    with sessions.begin() as s:
        assert placement.run_daily(session=s, actor=None, day=D(2025, 11, 2)) == (3, 1, 1)
    assert history(sessions, dying)[0].end_date == D(2025, 11, 2)  # never before the day of the job
    assert history(sessions, migrant)[0].end_date == D(2025, 10, 31)  # the contract term
    assert history(sessions, migrant)[0].end_reason == "insurance_ended"
    with sessions.begin() as s:
        assert placement.run_daily(session=s, actor=None, day=D(2026, 1, 1)) == (1, 0, 0)
        assert s.get_one(Application, change.id).state == "in_effect"


def test_detach_for_emigration(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    pid = person()
    with sessions.begin() as s, pytest.raises(errors.NotAttached):
        placement.detach(
            session=s, actor=None, person_id=pid, reason=EndReason.EMIGRATION, on=D(2025, 9, 1), today=D(2025, 9, 10)
        )
    apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    with sessions.begin() as s:
        placement.detach(
            session=s, actor=None, person_id=pid, reason=EndReason.EMIGRATION, on=D(2025, 9, 1), today=D(2025, 9, 20)
        )
    (row,) = history(sessions, pid)
    assert (row.end_date, row.end_reason) == (D(2025, 9, 20), "emigration")  # a past day is never rewritten


def test_a94_exclusion_redistributes_to_the_nearest_free_places(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    people = [person() for _ in range(5)]
    for pid in people:  # B is full (capacity 5); then it is excluded from the database
        apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("B1", 1)], at=AFTER_WINDOW)
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        with pytest.raises(errors.EntityStillParticipating):
            placement.redistribute(
                session=s,
                actor=fund,
                entity_id=country.b,
                on=D(2025, 12, 20),
                today=D(2025, 12, 10),
                policy=policy_for(s, D(2025, 12, 10)),
            )
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
        moved, unplaced = placement.redistribute(
            session=s,
            actor=fund,
            entity_id=country.b,
            on=D(2025, 12, 20),
            today=D(2025, 12, 10),
            policy=policy_for(s, D(2025, 12, 10)),
        )
    assert (moved, unplaced) == (5, [])
    with sessions() as s:
        open_rows = list(
            s.scalars(select(Attachment).where(Attachment.person_id.in_(people), Attachment.end_date.is_(None)))
        )
        assert {r.entity_id for r in open_rows} == {country.a}  # nearest participating, Astana ATU
        assert {r.cause for r in open_rows} == {"redistribution"}
        assert all(r.begin_date == D(2025, 12, 20) for r in open_rows)
        assert {r.district_id for r in open_rows} <= {country.districts[("A1", 1)], country.districts[("A2", 1)]}
        old = list(s.scalars(select(Attachment).where(Attachment.entity_id == country.b)))
        assert {(r.end_date, r.end_reason) for r in old} == {(D(2025, 12, 19), "transfer")}
