"""Issue 16, the campaign's rules: the Fund contract checked on the day an attachment takes effect (A-05);
losing the contract redistributes like an exclusion, pending changes included, and nobody is left without a
clinic (A-94, B-06); the year's change quota read before it is used (A-41)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import overflow, placement
from emhana.attachment.application import service
from emhana.attachment.enums import Channel, Outcome
from emhana.attachment.models import Application, Attachment
from emhana.attachment.quota import change_quota, quota_of
from emhana.attachment.rules import check_effective, evaluate, last_day_served
from emhana.attachment.schemas import ApplicationIn
from emhana.facilities.contract import end_contract, lost
from emhana.facilities.models import District, Entity, Site
from emhana.kernel import errors
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.i18n import translate
from emhana.notify.models import Notification
from tests.builders.attachment import IN_WINDOW, Country
from tests.builders.attachment_facts import CURRENT, TARGET, facts

D = dt.date


def submit(sessions: sessionmaker[Session], actor: Actor, person_id: int, district_id: int, at: dt.datetime) -> None:
    with sessions.begin() as s:
        service.submit(
            session=s,
            actor=actor,
            data=ApplicationIn(person_id=person_id, district_id=district_id),
            channel=Channel.EGOV,
            now=at,
        )


# --- pure rules -------------------------------------------------------------------------------------------


def test_a05_the_contract_is_checked_on_the_day_the_attachment_takes_effect() -> None:
    ends_in_december = dataclasses.replace(TARGET, contract_to=D(2025, 12, 31))
    # A change in the campaign takes effect on 1 January 2026: the contract ending on 31 December refuses it.
    refused = evaluate(facts(target=ends_in_december))
    assert refused.outcome is Outcome.REFUSE and isinstance(refused.error, errors.ContractEndsBeforeEffect)
    assert refused.error.params == {"last_day": "2025-12-31", "begin": "2026-01-01"}
    # A first attachment takes effect tomorrow, while the contract holds.
    first = evaluate(facts(target=ends_in_december, current=None))
    assert first.outcome is Outcome.APPROVE and first.begin_date == D(2025, 9, 11)
    # The inclusion too: excluded from 1 January (its last day 31 December).
    leaving = dataclasses.replace(TARGET, included_to=D(2026, 1, 1))
    assert last_day_served(leaving) == D(2025, 12, 31)
    assert isinstance(evaluate(facts(target=leaving)).error, errors.ContractEndsBeforeEffect)
    staying = dataclasses.replace(TARGET, contract_to=D(2026, 1, 1), included_to=D(2026, 1, 2))
    assert evaluate(facts(target=staying)).outcome is Outcome.APPROVE
    assert check_effective(TARGET, D(2099, 1, 1)) is None  # no end recorded
    message = errors.ContractEndsBeforeEffect.message
    assert len({translate(lang, message) for lang in ("kk", "ru", "en")}) == 3


def test_a05_through_the_service(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    with sessions.begin() as s:
        s.execute(update(Entity).where(Entity.id == country.b).values(contract_to=D(2025, 12, 31)))
    changer, newcomer = person(), person()
    submit(sessions, citizen(changer), changer, country.districts[("A1", 1)], IN_WINDOW)
    with pytest.raises(errors.ContractEndsBeforeEffect):  # the change would begin on 1 January 2026
        submit(sessions, citizen(changer), changer, country.districts[("B1", 1)], IN_WINDOW + dt.timedelta(days=1))
    submit(sessions, citizen(newcomer), newcomer, country.districts[("B1", 1)], IN_WINDOW)  # from tomorrow
    with sessions() as s:
        row = s.scalar(select(Attachment).where(Attachment.person_id == newcomer))
        assert row is not None and row.entity_id == country.b and row.begin_date == D(2025, 9, 11)


# --- A-94, B-06: losing the contract, pending changes, nobody without a clinic ----------------------------------


def test_contract_loss_redistributes_pending_changes_and_overflows_rather_than_detaching(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
    now: Callable[[dt.datetime], None],
) -> None:
    at_b = [person() for _ in range(3)]
    pending = [person() for _ in range(2)]
    for pid in at_b:
        submit(sessions, citizen(pid), pid, country.districts[("B1", 1)], IN_WINDOW)
    for pid in pending:  # attached at A2, then an approved change to B from 1 January 2026
        submit(sessions, citizen(pid), pid, country.districts[("A2", 1)], IN_WINDOW)
        submit(sessions, citizen(pid), pid, country.districts[("B1", 1)], IN_WINDOW + dt.timedelta(days=1))
    with sessions.begin() as s:  # A has one place per district left at most: no free place for everyone
        sites = select(Site.id).where(Site.entity_id == country.a)
        s.execute(update(District).where(District.site_id.in_(sites)).values(capacity=1))
    now(dt.datetime(2025, 12, 10, 10, tzinfo=KZ_TIME))
    fund, _ = make_actor(Role.FUND_ADMIN)
    assert lost(None, D(2025, 12, 19)) and lost(D(2026, 12, 31), D(2025, 12, 19)) and not lost(D(2025, 1, 1), None)
    with sessions.begin() as s:
        end_contract(session=s, actor=fund, entity_id=country.b, last_day=D(2025, 12, 19), reason="not renewed")
    with sessions() as s:
        rows = list(s.scalars(select(Attachment).order_by(Attachment.person_id, Attachment.begin_date)))
        open_rows = {a.person_id: a for a in rows if a.end_date is None}
        # Nobody is left without a clinic, and nobody stays with B.
        assert set(open_rows) == set(at_b + pending)
        assert {a.entity_id for a in open_rows.values()} == {country.a}
        assert {a.cause for a in open_rows.values()} == {"redistribution"}
        for pid in at_b:
            assert open_rows[pid].begin_date == D(2025, 12, 20)
        for pid in pending:
            # The pending change is replaced from its own first day; the current clinic is kept until then.
            assert open_rows[pid].begin_date == D(2026, 1, 1)
            mine = [a for a in rows if a.person_id == pid]
            a2 = next(a for a in mine if a.site_id == country.sites["A2"] and a.cause == "first_attachment")
            b = next(a for a in mine if a.entity_id == country.b)
            assert (a2.end_date, b.end_date, b.end_reason) == (D(2025, 12, 31), D(2025, 12, 31), "superseded")
        told = set(
            s.scalars(select(Notification.recipient_id).where(Notification.template == "attachment.redistributed"))
        )
        assert told >= set(at_b + pending)
        # The Fund sees the overflow per receiving organization, with the people placed over capacity.
        (seen,) = overflow.overflow(session=s)
        assert seen.entity_id == country.a and seen.over > 0
        over_people = {p for d in seen.districts for p in d.redistributed_person_ids}
        assert over_people and over_people <= set(at_b + pending)
        assert all(d.attached > d.capacity for d in seen.districts)
        assert sum(d.attached - d.capacity for d in seen.districts) == seen.over
        (went,) = overflow.redistribution_from(session=s, entity_id=country.b)
        assert went.entity_id == country.a and set(went.person_ids) == set(at_b + pending)
        assert set(went.over_capacity_person_ids) == over_people
        assert overflow.overflow(session=s, entity_id=country.b) == []
    # The replaced changes never come into effect (their applications are not told "in effect").
    with sessions.begin() as s:
        placement.run_daily(session=s, actor=None, day=D(2026, 1, 1))
    with sessions() as s:
        states = dict(
            s.execute(
                select(Application.person_id, Application.state).where(
                    Application.district_id == country.districts[("B1", 1)], Application.person_id.in_(pending)
                )
            ).all()
        )
        assert set(states.values()) == {"approved"}


def test_end_contract_refuses_a_later_end(
    sessions: sessionmaker[Session], country: Country, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s, pytest.raises(errors.InvalidDates):
        end_contract(session=s, actor=fund, entity_id=country.b, last_day=D(2027, 1, 1), reason="")
    with sessions.begin() as s, pytest.raises(errors.NotFound):
        end_contract(session=s, actor=fund, entity_id=10**9, last_day=D(2025, 1, 1), reason="")


# --- the change quota, shown before it is used -----------------------------------------------------------


def test_a41_change_quota_says_a_pending_change_would_be_replaced(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    pid = person()
    day = IN_WINDOW.date()
    with sessions() as s:
        fresh = change_quota(session=s, person_id=pid, year=2025, today=day)
    assert (fresh.limit, fresh.used, fresh.remaining, fresh.pending, fresh.would_replace) == (2, 0, 2, None, False)
    submit(sessions, citizen(pid), pid, country.districts[("A1", 1)], IN_WINDOW)  # a first attachment: no quota
    submit(sessions, citizen(pid), pid, country.districts[("B1", 1)], IN_WINDOW + dt.timedelta(days=1))
    with sessions() as s:
        first = change_quota(session=s, person_id=pid, year=2025, today=day + dt.timedelta(days=2))
    assert (first.used, first.remaining, first.window_open) == (1, 1, True)
    assert first.pending is not None and first.pending.begin_date == D(2026, 1, 1) and first.would_replace
    assert first.pending.entity_id == country.b
    submit(sessions, citizen(pid), pid, country.districts[("A2", 1)], IN_WINDOW + dt.timedelta(days=2))
    with sessions() as s:
        second = change_quota(session=s, person_id=pid, year=2025, today=day + dt.timedelta(days=3))
        history = list(s.scalars(select(Attachment).where(Attachment.person_id == pid)))
    # The replaced change stays counted: the year's quota is spent.
    assert (second.used, second.remaining, second.exhausted, second.would_replace) == (2, 0, True, False)
    assert second.pending is not None and second.pending.district_id == country.districts[("A2", 1)]
    assert sorted(a.end_reason or "" for a in history) == ["", "superseded", "transfer"]
    with sessions() as s:
        assert change_quota(session=s, person_id=pid, year=2026, today=D(2026, 1, 5)).used == 0


def test_a41_quota_rule_is_pure() -> None:
    from emhana.attachment.facts import Period
    from tests.builders.attachment_facts import POLICY

    def period(i: int, cause: str, begin: dt.date, decided: dt.date, end: dt.date | None = None) -> Period:
        return Period(i, 1, 1, 1, i, "residence_permanent", cause, begin, end, None, None, decided)

    history = [
        period(1, "first_attachment", D(2024, 5, 2), D(2024, 5, 1), D(2025, 12, 31)),
        period(2, "voluntary_change", D(2026, 1, 1), D(2025, 9, 3)),
        period(3, "voluntary_change", D(2025, 1, 1), D(2024, 10, 1), D(2024, 12, 31)),
    ]
    q = quota_of(history, policy=POLICY, year=2025, today=D(2025, 9, 10))
    assert (q.limit, q.used, q.exhausted, q.would_replace) == (1, 1, True, False)
    assert q.pending is not None and q.pending.attachment_id == 2
    assert quota_of(history, policy=POLICY, year=2024, today=D(2024, 10, 2)).used == 1
    assert CURRENT.district_id == 3  # the facts builder's current district, untouched by these rules


def test_an_import_that_ends_a_contract_redistributes_too(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
    now: Callable[[dt.datetime], None],
) -> None:
    from emhana.facilities.io import DistrictRecord
    from emhana.facilities.service import apply_records
    from tests.builders.facilities import entity_record, site_record

    pid = person()
    submit(sessions, citizen(pid), pid, country.districts[("B1", 1)], IN_WINDOW)
    now(dt.datetime(2025, 12, 10, 10, tzinfo=KZ_TIME))
    fund, _ = make_actor(Role.FUND_ADMIN)
    same = entity_record(
        "201140004575", sites=[site_record("B1", lat=51.15, lon=71.45, districts=[DistrictRecord("gp", 1, 5)])]
    )
    with sessions.begin() as s:  # the same contract again: nothing moves
        apply_records(session=s, actor=fund, records=[same])
    with sessions() as s:
        assert s.scalar(select(Attachment.entity_id).where(Attachment.end_date.is_(None))) == country.b
    with sessions.begin() as s:  # the Fund's file now ends the contract on 24 December 2025 (B-06)
        apply_records(session=s, actor=fund, records=[dataclasses.replace(same, contract_to=D(2025, 12, 24))])
    with sessions() as s:
        row = s.scalar(select(Attachment).where(Attachment.person_id == pid, Attachment.end_date.is_(None)))
        assert row is not None and row.entity_id == country.a and row.begin_date == D(2025, 12, 25)


def test_a_day_beyond_the_calendar_is_a_coded_error_through_the_api(client: TestClient) -> None:
    answer = client.get("/api/v1/attachment/calendar/2028", headers={"Accept-Language": "kk"})
    assert answer.status_code == 422 and answer.json()["code"] == "attachment.calendar_not_covered"
    assert set(answer.json()["messages"]) == {"kk", "ru", "en"} and "2028" in answer.json()["messages"]["ru"]
    assert client.get("/api/v1/attachment/calendar/2025").status_code == 200


def test_people_leaving_an_excluded_organization_for_a_change_from_1_january_are_not_left_with_it(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    make_actor: Callable[..., tuple[Actor, str]],
    now: Callable[[dt.datetime], None],
) -> None:
    pid = person()
    submit(sessions, citizen(pid), pid, country.districts[("B1", 1)], IN_WINDOW)
    submit(sessions, citizen(pid), pid, country.districts[("A2", 1)], IN_WINDOW + dt.timedelta(days=1))
    now(dt.datetime(2025, 12, 10, 10, tzinfo=KZ_TIME))
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        end_contract(session=s, actor=fund, entity_id=country.b, last_day=D(2025, 12, 19), reason="terminated")
    with sessions() as s:
        rows = list(s.scalars(select(Attachment).where(Attachment.person_id == pid).order_by(Attachment.id)))
        b, chosen, bridge = rows
        assert (b.entity_id, b.end_date, b.end_reason) == (country.b, D(2025, 12, 19), "transfer")
        assert (chosen.begin_date, chosen.end_date, chosen.end_reason) == (D(2026, 1, 1), D(2025, 12, 31), "superseded")
        assert (bridge.district_id, bridge.begin_date, bridge.end_date, bridge.cause) == (
            country.districts[("A2", 1)],
            D(2025, 12, 20),
            None,
            "redistribution",
        )
        assert s.scalar(
            select(Notification.id).where(
                Notification.template == "attachment.redistributed", Notification.recipient_id == pid
            )
        )
