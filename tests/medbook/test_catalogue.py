"""The catalogue of decreed groups as versioned data per item (§3.7, C-22, C-51, C-52, C-53): the 2015 scope is
closed history, each working group has a version with per-item schedules, the Fund's versions state them and
bad items are refused with nothing written; a clearance at hiring asks the at-hiring items; migration 0020
brings an older database to the packaged rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.kernel.db import make_engine
from emhana.kernel.errors import GroupNotFound
from emhana.kernel.migrate import downgrade, upgrade
from emhana.medbook import catalogue, scope
from emhana.medbook.catalogue import default_group_rows
from emhana.medbook.models import DecreedGroup, Examination
from emhana.medbook.rules import EntryKind, GroupRule, Requirement, Schedule
from tests.builders.databases import fresh_database
from tests.builders.medbook import NOW, TODAY, World, clean_scope, issue_book, record

API = "/api/v1/medbook"
WORKING = [
    "catering",
    "children",
    "consumer_services",
    "dairy_farms",
    "food",
    "medical",
    "passenger_transport",
    "water",
]
CLOSED_ON = dt.date(2020, 10, 15)  # ДСМ-131/2020 of 15.10.2020 (docs/domain.md §0); its day in force unverified


def test_the_2015_scope_is_closed_history(world: World, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        assert [g.code for g in catalogue.list_in_force(session=s, day=TODAY)] == WORKING
        closed = catalogue.closed(session=s, day=TODAY)
        assert [(g.code, g.effective_to, g.verified) for g in closed] == [("decreed_2015", CLOSED_ON, True)]
        assert catalogue.in_force(session=s, code="decreed_2015", day=dt.date(2019, 6, 1)).version == 1
        with pytest.raises(GroupNotFound):
            catalogue.in_force(session=s, code="decreed_2015", day=CLOSED_ON)
        # results in a book of the closed group are still judged by its last version (C-30)
        assert catalogue.in_force_or_last(session=s, code="decreed_2015", day=TODAY).effective_to == CLOSED_ON
        assert catalogue.in_force_or_last(session=s, code="catering", day=TODAY).version == 2
        with pytest.raises(GroupNotFound):
            catalogue.in_force_or_last(session=s, code="decreed_2015", day=dt.date(2015, 1, 1))


@pytest.mark.parametrize("code", WORKING)
def test_each_working_group_has_a_version_that_says_per_item_when_and_on_what_authority(
    world: World, sessions: sessionmaker[Session], code: str
) -> None:
    with sessions() as s:
        first, second = catalogue.versions(session=s, code=code)
        assert (first.effective_to, second.effective_from, second.effective_to) == (
            second.effective_from,
            dt.date(2025, 1, 1),
            None,
        )
        assert first.requirements == default_group_rows()[0]["requirements"]  # the 2015 scope, unchanged
        rule = catalogue.rule_of(second)
        assert all(not r.verified and "not verified" in r.source for r in rule.requirements)  # C-52
        assert {r.code for r in rule.requirements if r.schedule is Schedule.PERIODIC} >= {
            "therapist",
            "fluorography",
            "helminths",
        }
        hiring = {r.code for r in rule.requirements if r.schedule is Schedule.AT_HIRING}
        assert hiring == ({"typhoid_serology"} if code in {"food", "catering", "water", "dairy_farms"} else set())


def _body(**item: Any) -> dict[str, Any]:
    return {
        "code": "catering",
        "name_kk": "Қоғамдық тамақтану",
        "name_ru": "Общественное питание",
        "name_en": "Public catering",
        "periodicity_months": 12,
        "effective_from": "2026-03-01",
        "source": "test order",
        "requirements": [
            {"kind": "specialist_exam", "code": "therapist", "verified": True, "source": "order, annex 1, row 1"},
            {"kind": "lab_result", "code": "helminths", "months": 6},
            {"kind": "xray", "code": "fluorography", "min_age": 18, "max_age": 65},
            {"kind": "lab_result", "code": "typhoid_serology", "schedule": "at_hiring", "infection": True},
            {"kind": "specialist_exam", "code": "gynecologist", "female_only": True},
            item,
        ],
    }


def test_a_fund_version_states_schedule_months_sex_age_source_and_verified(client: TestClient, world: World) -> None:
    body = _body(kind="lab_result", code="staphylococcus_swab", schedule="indication")
    r = client.post(f"{API}/groups", headers=world.h["fund"], json=body)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 3
    items = {i["code"]: i for i in r.json()["requirements"]}
    assert items["therapist"]["verified"] is True and items["therapist"]["source"] == "order, annex 1, row 1"
    assert items["helminths"]["months"] == 6 and items["helminths"]["verified"] is False
    assert items["helminths"]["source"] == "test order"  # an item without its own source has the version's
    assert (items["fluorography"]["min_age"], items["fluorography"]["max_age"]) == (18, 65)
    assert items["typhoid_serology"]["schedule"] == "at_hiring"
    assert items["staphylococcus_swab"]["schedule"] == "indication"
    assert items["gynecologist"]["sex"] == "female" and items["gynecologist"]["female_only"] is True
    shown = {g["code"]: g for g in client.get(f"{API}/groups").json()}["catering"]
    assert shown["version"] == 3 and shown["requirements"] == r.json()["requirements"]
    again = {**body, "effective_from": "2026-03-05", "requirements": shown["requirements"]}
    assert client.post(f"{API}/groups", headers=world.h["fund"], json=again).status_code == 201  # sent back as read


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"kind": "lab_result", "code": "syphilis", "min_age": 40, "max_age": 30}, "medbook.invalid_requirement"),
        ({"kind": "lab_result", "code": "syphilis", "months": 0}, "core.invalid_request"),
        ({"kind": "lab_result", "code": "syphilis", "months": 121}, "core.invalid_request"),
        ({"kind": "lab_result", "code": "syphilis", "schedule": "weekly"}, "core.invalid_request"),
        ({"kind": "lab_result", "code": "syphilis", "sex": "other"}, "core.invalid_request"),
        ({"kind": "lab_result", "code": "gynecologist"}, "medbook.item_kind_mismatch"),
        ({"kind": "lab_result", "code": "helminths"}, "medbook.invalid_requirement"),  # listed twice
        ({"kind": "lab_result", "code": "syphilis", "female_only": True, "sex": "male"}, "medbook.invalid_requirement"),
    ],
)
def test_bad_items_are_refused_with_a_code_and_nothing_is_written(
    client: TestClient, world: World, sessions: sessionmaker[Session], item: dict[str, Any], code: str
) -> None:
    def rows() -> tuple[int, int, int]:
        with sessions() as s:
            open_versions = s.scalar(select(func.count()).where(DecreedGroup.effective_to.is_(None)))
            return (
                s.scalar(select(func.count()).select_from(DecreedGroup)) or 0,
                open_versions or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            )

    before = rows()
    r = client.post(f"{API}/groups", headers=world.h["fund"], json=_body(**item))
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert rows() == before
    if code.startswith("medbook."):  # the item by its name in every language, never its code
        assert all(item["code"] not in m for m in r.json()["messages"].values())


def test_a_clearance_at_hiring_asks_the_at_hiring_items(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    bid = issue_book(client, world)["id"]  # a cook: catering
    clean_scope(client, world, bid)
    with sessions.begin() as s:
        s.add(
            Examination(
                book_id=bid,
                entity_id=world.a,
                kind="at_hiring",
                purpose="hiring",
                opened_at=NOW,
                open_until=TODAY + dt.timedelta(days=30),
            )
        )
    refused = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert refused.status_code == 422 and refused.json()["code"] == "medbook.clearance_incomplete"
    messages = refused.json()["messages"]
    assert "Serological test for typhoid fever (requirements not verified)" in messages["en"]
    assert "Серологическое исследование на брюшной тиф (требования не подтверждены)" in messages["ru"]
    assert record(client, world, bid, "lab_result", "typhoid_serology", "negative").status_code == 201
    granted = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert granted.status_code == 201, granted.text
    assert granted.json()["valid_until"] == "2027-03-02"  # the periodic items' year (C-21)


def test_a_periodic_clearance_does_not_ask_the_at_hiring_items(client: TestClient, world: World) -> None:
    bid = issue_book(client, world)["id"]
    clean_scope(client, world, bid)  # the 2015 items only, no typhoid serology
    granted = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert granted.status_code == 201, granted.text


def _catalogue_rows(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT code, version, effective_from, effective_to, periodicity_months, verified "
                "FROM decreed_group ORDER BY code, version"
            )
        ).all()
    engine.dispose()
    return [tuple(str(v) if isinstance(v, dt.date) else v for v in row) for row in rows]


def test_migration_0020_closes_the_2015_scope_and_adds_the_versions_per_item(tmp_path: Path) -> None:
    packaged = sorted(
        (
            r["code"],
            r["version"],
            str(r["effective_from"]),
            r["effective_to"] and str(r["effective_to"]),
            12,
            r["verified"],
        )
        for r in default_group_rows()
    )
    with fresh_database(tmp_path) as url:
        upgrade(url)
        assert sorted(_catalogue_rows(url)) == packaged
        downgrade(url, "0019")  # the catalogue as it was: the 2015 scope open, one version per group
        before = _catalogue_rows(url)
        assert [(code, to) for code, _v, _f, to, _m, _ok in before] == [
            (code, None) for code in sorted(["decreed_2015", *WORKING])
        ]
        upgrade(url)
        assert sorted(_catalogue_rows(url)) == packaged


def test_the_desk_explanation_says_which_required_items_are_unverified() -> None:
    group = GroupRule(
        "x",
        12,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist", verified=True),
            Requirement(EntryKind.LAB_RESULT, "helminths"),
            Requirement(EntryKind.LAB_RESULT, "syphilis"),
        ),
    )
    assert scope.items_label(["therapist"], group).in_language("en") == "Therapist"
    assert scope.items_label(["therapist", "helminths"], group).in_language("ru") == (
        "Терапевт, Исследование на гельминтозы (не подтверждено: Исследование на гельминтозы)"
    )
    assert scope.items_label(["helminths", "syphilis"], group).in_language("kk") == (
        "Гельминттерге зерттеу, Мерезге зерттеу (талаптар расталмаған)"
    )
    assert scope.items_label([], group).in_language("en") == "—"
