"""Capitation snapshots (A-120, A-121): counts per entity, sex and age band, reproducible whatever
happened since, traceable to persons, exportable as CSV by API and command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import capitation, placement
from emhana.attachment.application import service
from emhana.attachment.enums import Channel, EndReason
from emhana.attachment.models import CapitationSnapshot
from emhana.attachment.schemas import ApplicationIn
from emhana.cli.main import app as cli
from emhana.kernel import errors
from emhana.kernel.clock import KZ_TIME
from tests.builders.attachment import AFTER_WINDOW, IN_WINDOW, Country
from tests.builders.people import represent

D = dt.date


def attach(
    sessions: sessionmaker[Session], actor: Actor, person_id: int, district_id: int, at: dt.datetime = IN_WINDOW
) -> None:
    with sessions.begin() as s:
        service.submit(
            session=s,
            actor=actor,
            data=ApplicationIn(person_id=person_id, district_id=district_id),
            channel=Channel.EGOV,
            now=at,
        )


@pytest.fixture
def population(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> dict[str, int]:
    """Five people attached on 11 September 2025: three at A, two at B, of several ages and both sexes."""
    ids = {
        "man_37": person(born=D(1988, 3, 15)),
        "woman_70": person(born=D(1955, 1, 1), sex="female"),
        "girl_3": person(born=D(2022, 5, 1), sex="female", documents=[("birth_certificate", None)]),
        "man_18": person(born=D(2007, 9, 1)),
        "woman_40": person(born=D(1985, 9, 12), sex="female"),  # 39 on 11 Sep, 40 from 12 Sep 2025
    }
    parent = person()
    represent(sessions, parent, ids["girl_3"])
    actors = {k: make_actor(Role.CITIZEN, person_id=v)[0] for k, v in ids.items()}
    attach(sessions, actors["man_37"], ids["man_37"], country.districts[("A1", 1)])
    attach(sessions, actors["woman_70"], ids["woman_70"], country.districts[("A1", 1)])
    attach(sessions, make_actor(Role.CITIZEN, person_id=parent)[0], ids["girl_3"], country.districts[("A1", 2)])
    attach(sessions, actors["man_18"], ids["man_18"], country.districts[("B1", 1)])
    attach(sessions, actors["woman_40"], ids["woman_40"], country.districts[("B1", 1)])
    return ids


def test_counts_per_entity_sex_and_age_band(
    sessions: sessionmaker[Session], country: Country, population: dict[str, int]
) -> None:
    with sessions() as s:
        assert capitation.compute_counts(session=s, as_of=D(2025, 9, 10)) == {}  # nothing in effect yet
        counts = capitation.compute_counts(session=s, as_of=D(2025, 9, 11))
    assert counts == {
        (country.a, "male", "18-39"): 1,
        (country.a, "female", "65+"): 1,
        (country.a, "female", "1-4"): 1,
        (country.b, "male", "18-39"): 1,
        (country.b, "female", "18-39"): 1,
    }
    with sessions() as s:
        later = capitation.compute_counts(session=s, as_of=D(2025, 9, 12))
    assert later[(country.b, "female", "40-64")] == 1 and (country.b, "female", "18-39") not in later


def test_snapshot_is_reproducible_and_immutable_whatever_happens_since(
    sessions: sessionmaker[Session],
    country: Country,
    population: dict[str, int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    day = D(2025, 10, 1)
    with sessions.begin() as s:
        snap = capitation.take_snapshot(session=s, actor=None, as_of=day, today=D(2025, 10, 2))
        stored = {(c.entity_id, c.sex, c.band): c.count for c in capitation.counts_of(session=s, snapshot=snap)}
        traced = capitation.persons_of(session=s, snapshot=snap)
        snap_id = snap.id
    assert snap.total == 5 == sum(stored.values()) == len(traced)
    with sessions() as s:  # the total is the stored row's, written with the counts, not only the object's
        assert s.scalar(select(CapitationSnapshot.total).where(CapitationSnapshot.id == snap_id)) == 5
    assert {p.person_id for p in traced} == set(population.values())
    # What happens next: a transfer for next year, a death, an emigration, a new first attachment.
    attach(
        sessions,
        make_actor(Role.CITIZEN, person_id=population["man_37"])[0],
        population["man_37"],
        country.districts[("B1", 1)],
        at=dt.datetime(2025, 10, 20, 10, tzinfo=KZ_TIME),
    )
    with sessions.begin() as s:
        placement.detach(
            session=s,
            actor=None,
            person_id=population["woman_70"],
            reason=EndReason.DEATH,
            on=D(2025, 9, 20),
            today=D(2025, 11, 5),
        )
        placement.detach(
            session=s,
            actor=None,
            person_id=population["man_18"],
            reason=EndReason.EMIGRATION,
            on=D(2025, 11, 5),
            today=D(2025, 11, 5),
        )
    with sessions() as s:
        assert capitation.compute_counts(session=s, as_of=day) == stored  # reproducible from history
        again = capitation.take_snapshot(session=s, actor=None, as_of=day, today=D(2026, 2, 1))
        assert (
            again.id == snap_id
            and {(c.entity_id, c.sex, c.band): c.count for c in capitation.counts_of(session=s, snapshot=again)}
            == stored
        )
        jan = capitation.compute_counts(session=s, as_of=D(2026, 1, 1))
    assert jan == {(country.b, "male", "18-39"): 1, (country.a, "female", "1-4"): 1, (country.b, "female", "40-64"): 1}


def test_snapshot_refuses_the_future_and_other_bands_for_a_taken_day(
    sessions: sessionmaker[Session], country: Country
) -> None:
    with sessions.begin() as s, pytest.raises(errors.InvalidDates):
        capitation.take_snapshot(session=s, actor=None, as_of=D(2025, 10, 2), today=D(2025, 10, 1))
    with sessions.begin() as s:
        capitation.take_snapshot(session=s, actor=None, as_of=D(2025, 10, 1), today=D(2025, 10, 1))
    with sessions.begin() as s, pytest.raises(errors.SnapshotExists):
        capitation.take_snapshot(session=s, actor=None, as_of=D(2025, 10, 1), today=D(2025, 10, 1), bands="0-17,18+")
    with sessions.begin() as s, pytest.raises(errors.InvalidInput):
        capitation.take_snapshot(session=s, actor=None, as_of=D(2025, 9, 1), today=D(2025, 10, 1), bands="0-4,6+")


def test_migrant_is_not_counted_after_the_contract_term(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    migrant = person(category="eaeu_migrant", documents=[("foreign_passport", None)])
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    with sessions.begin() as s:
        service.submit(
            session=s,
            actor=registrar,
            channel=Channel.IN_PERSON,
            now=IN_WINDOW,
            data=ApplicationIn(
                person_id=migrant,
                district_id=country.districts[("A1", 1)],
                documents=[
                    {"kind": "foreign_passport", "number": "KG1"},
                    {"kind": "insurance_contract", "number": "DMS-1", "expires_on": "2025-10-31"},
                ],
            ),
        )
    with sessions() as s:  # counted for the contract term only, before and after the daily job
        assert sum(capitation.compute_counts(session=s, as_of=D(2025, 10, 31)).values()) == 1
        assert capitation.compute_counts(session=s, as_of=D(2025, 11, 1)) == {}


def test_snapshot_through_the_api(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    population: dict[str, int],
    now: Callable[[dt.datetime], None],
) -> None:
    now(AFTER_WINDOW)
    fund = {**auth(Role.FUND_ADMIN), "Idempotency-Key": "snap-1"}
    url = "/api/v1/attachment/capitation/snapshots"
    taken = client.post(url, headers=fund, json={"as_of": "2025-12-01"})
    assert taken.status_code == 201, taken.text
    snap = taken.json()
    assert snap["total"] == 5 and snap["bands"] == "0,1-4,5-14,15-17,18-39,40-64,65+"
    assert client.post(url, headers=fund, json={"as_of": "2025-12-01"}).json() == snap
    future = client.post(url, headers=auth(Role.FUND_ADMIN), json={"as_of": "2026-01-01"})
    assert future.status_code == 422 and future.json()["code"] == "core.invalid_dates"
    exported = client.get(f"{url}/{snap['id']}/export", headers=fund)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert exported.headers["content-type"].startswith("text/csv")
    assert sum(int(r["count"]) for r in rows) == 5 and {r["entity_bin"] for r in rows} == {
        "150340001236",
        "201140004575",
    }
    persons = client.get(f"{url}/{snap['id']}/persons", headers=fund, params={"entity_id": country.b}).json()
    assert {p["person_id"] for p in persons} == {population["man_18"], population["woman_40"]}
    assert [s["as_of"] for s in client.get(url, headers=fund).json()] == ["2025-12-01"]


def test_capitation_command_line(
    tmp_path: Path, database_url: str, population: dict[str, int], now: Callable[[dt.datetime], None]
) -> None:
    now(AFTER_WINDOW)  # the command reads the process's clock, which the test world set inside the campaign
    out = tmp_path / "capitation.csv"
    runner = CliRunner()
    done = runner.invoke(
        cli, ["capitation", "snapshot", "--date", "2025-12-01", "--out", str(out), "--database-url", database_url]
    )
    assert done.exit_code == 0, done.output
    assert "5 persons" in done.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["age_band"] for r in rows if r["entity_bin"] == "150340001236"] == ["1-4", "65+", "18-39"]
    again = tmp_path / "again.csv"
    assert (
        runner.invoke(
            cli, ["capitation", "snapshot", "--date", "2025-12-01", "--out", str(again), "--database-url", database_url]
        ).exit_code
        == 0
    )
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    bad = runner.invoke(
        cli, ["capitation", "snapshot", "--date", "01.12.2025", "--out", str(again), "--database-url", database_url]
    )
    assert bad.exit_code != 0
    future = runner.invoke(
        cli, ["capitation", "snapshot", "--date", "2999-01-01", "--out", str(again), "--database-url", database_url]
    )
    assert future.exit_code == 1 and "core.invalid_dates" in future.output


def test_the_capitation_csv_carries_no_formula_cell(
    sessions: sessionmaker[Session],
    country: Country,
    population: dict[str, int],
    make_actor: Callable[..., tuple[Actor, str]],
    now: Callable[[dt.datetime], None],
) -> None:
    now(AFTER_WINDOW)
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:  # "+0-17" parses as the band from 0 to 17, and is a formula to a spreadsheet
        snap = capitation.take_snapshot(
            session=s, actor=fund, as_of=D(2025, 12, 1), today=AFTER_WINDOW.date(), bands="+0-17,18+"
        )
        text = capitation.export_csv(session=s, snapshot=snap)
    bands = {r["age_band"] for r in csv.DictReader(io.StringIO(text))}
    assert bands == {"'+0-17", "18+"}
