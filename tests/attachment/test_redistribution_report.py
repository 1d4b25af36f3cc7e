"""What the redistribution of an excluded entity's people did (A-94), read back from the attachment history: people
moved and where to, the overflow beyond a district's capacity, the people left without a clinic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import redistribution_report
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent
from emhana.facilities.models import District, Entity
from emhana.facilities.rules import InclusionStatus
from emhana.facilities.service import change_inclusion, get_entity
from emhana.kernel.clock import KZ_TIME
from tests.builders.attachment import AFTER_WINDOW, Country

EXCLUDED_FROM = dt.date(2025, 9, 15)


def _attachment(person: int, entity: int, site: int, district: int, **kw: object) -> Attachment:
    values: dict[str, object] = {
        "place_basis": "residence_permanent",
        "cause": "first_attachment",
        "begin_date": dt.date(2024, 1, 1),
        "decided_on": dt.date(2023, 12, 1),
        **kw,
    }
    return Attachment(person_id=person, entity_id=entity, site_id=site, district_id=district, **values)


def test_the_report_names_where_people_went_the_overflow_and_who_was_left(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    fund, _ = make_actor(Role.FUND_ADMIN)
    a1, b1 = country.districts[("A1", 1)], country.districts[("B1", 1)]
    site_a, site_b = country.sites["A1"], country.sites["B1"]
    with sessions.begin() as s:
        change_inclusion(
            session=s,
            actor=fund,
            entity=get_entity(session=s, entity_id=country.b),
            status=InclusionStatus.EXCLUDED,
            effective_from=EXCLUDED_FROM,
            reason="licence revoked",
        )
    resident = [person() for _ in range(4)]
    moved = [person() for _ in range(3)]
    left, earlier = person(), person()
    last = EXCLUDED_FROM - dt.timedelta(days=1)
    with sessions.begin() as s:
        s.add_all(_attachment(p, country.a, site_a, a1) for p in resident)
        for p in moved:
            s.add(_attachment(p, country.b, site_b, b1, end_date=last, end_reason="transfer"))
        s.add(_attachment(left, country.b, site_b, b1, end_date=last, end_reason="entity_excluded"))
        s.add(_attachment(earlier, country.b, site_b, b1, end_date=dt.date(2025, 1, 31), end_reason="transfer"))
        s.flush()
        for p in moved:
            s.add(_attachment(p, country.a, site_a, a1, cause="redistribution", begin_date=EXCLUDED_FROM))
        s.add(_attachment(earlier, country.a, site_a, a1, cause="voluntary_change", begin_date=dt.date(2025, 2, 1)))
    with sessions.begin() as s:
        assert s.get(District, a1).capacity == 5  # type: ignore[union-attr]
        before = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
        report = redistribution_report.report(session=s, actor=fund, entity_id=country.b, today=dt.date(2025, 9, 10))
        assert report.exclusion is not None and report.exclusion.effective_from == EXCLUDED_FROM
        assert (report.moved, report.still_attached) == (3, 0)
        [dest] = report.destinations
        assert (dest.district.id, dest.moved, dest.attached, dest.overflow) == (a1, 3, 8, 3)
        assert sorted(line.person.id for line in report.overflow) == sorted(moved)
        assert [line.person.id for line in report.unplaced] == [left]
        assert [(e.id, n, o) for e, n, o in report.by_entity] == [(country.a, 3, 3)]
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(before)).all()
        assert sorted(e.action for e in events) == ["attachment.read"] * 4 + ["redistribution.read"]
        assert {e.subject_person_id for e in events if e.action == "attachment.read"} == {*moved, left}  # each named


def test_only_the_people_beyond_capacity_are_the_overflow(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int]
) -> None:
    a1, b1 = country.districts[("A1", 1)], country.districts[("B1", 1)]
    with sessions.begin() as s:
        change_inclusion(
            session=s,
            actor=None,
            entity=get_entity(session=s, entity_id=country.b),
            status=InclusionStatus.EXCLUDED,
            effective_from=EXCLUDED_FROM,
            reason="liquidated",
        )
    resident = [person() for _ in range(3)]
    moved = [person() for _ in range(3)]
    with sessions.begin() as s:
        s.add_all(_attachment(p, country.a, country.sites["A1"], a1) for p in resident)
        for p in moved:
            s.add(
                _attachment(
                    p,
                    country.b,
                    country.sites["B1"],
                    b1,
                    end_date=EXCLUDED_FROM - dt.timedelta(1),
                    end_reason="transfer",
                )
            )
        s.flush()
        for p in moved:  # 3 residents + 3 moved in a district of 5: the last one moved in is beyond capacity
            s.add(_attachment(p, country.a, country.sites["A1"], a1, cause="redistribution", begin_date=EXCLUDED_FROM))
    with sessions() as s:
        report = redistribution_report.report(session=s, actor=None, entity_id=country.b, today=dt.date(2025, 9, 10))
    assert report.moved == 3 and [line.person.id for line in report.overflow] == [moved[-1]]
    assert report.unplaced == []


def test_an_exclusion_on_the_page_lands_on_its_redistribution(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
) -> None:
    now(AFTER_WINDOW)
    people = [person() for _ in range(3)]
    for pid in people:
        answer = client.post(
            "/api/v1/attachment/applications",
            headers=auth(Role.CITIZEN, person_id=pid),
            json={"person_id": pid, "district_id": country.districts[("B1", 1)]},
        )
        assert answer.status_code == 201 and answer.json()["state"] == "approved", answer.text
    now(dt.datetime(2025, 12, 16, 10, tzinfo=KZ_TIME))
    fund = auth(Role.FUND_ADMIN)
    excluded = client.post(
        f"/api/v1/facilities/entities/{country.b}/inclusions",
        headers=fund,
        json={"status": "excluded", "effective_from": "2025-12-20", "reason": "licence revoked"},
    )
    assert excluded.status_code == 201, excluded.text
    page = client.get(f"/fund/entities/{country.b}/redistribution?lang=en", headers=fund)
    assert page.status_code == 200
    text = page.text
    moved = int(text.split('id="moved">')[1].split("<")[0])
    unplaced = int(text.split('id="unplaced">')[1].split("<")[0])
    assert moved + unplaced == 3 and moved >= 1  # every person either moved or is named as left without a clinic
    assert int(text.split('id="still-attached">')[1].split("<")[0]) == 0


def test_a_lost_contract_is_reported_like_an_exclusion(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int]
) -> None:
    a1, b1 = country.districts[("A1", 1)], country.districts[("B1", 1)]
    moved = person()
    out = dt.date(2025, 9, 5)
    with sessions.begin() as s:
        s.execute(update(Entity).where(Entity.id == country.b).values(contract_to=out - dt.timedelta(days=1)))
        s.add(
            _attachment(
                moved, country.b, country.sites["B1"], b1, end_date=out - dt.timedelta(days=1), end_reason="transfer"
            )
        )
        s.flush()
        s.add(_attachment(moved, country.a, country.sites["A1"], a1, cause="redistribution", begin_date=out))
    with sessions() as s:
        report = redistribution_report.report(session=s, actor=None, entity_id=country.b, today=dt.date(2025, 9, 10))
        early = redistribution_report.report(session=s, actor=None, entity_id=country.b, today=dt.date(2025, 9, 1))
    assert (report.exclusion, report.left_on, report.contract_ended, report.moved) == (None, out, True, 1)
    assert (early.left_on, early.moved) == (None, 0)  # a contract end still to come moved nobody yet
