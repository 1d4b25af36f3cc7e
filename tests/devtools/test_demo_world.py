"""The demo's world as `emhana demo` seeds it: identity documents, addresses other than the registration address,
families with their legal representations, the demo citizen's family, a campaign history written by the campaign's
services (approvals, refusals by reason, transfers, a registrar's queue, one exclusion with its redistribution),
medical books in every state, hash chains that verify, and the demo clock's day and tick."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.attachment.models import Application, Attachment, CampaignPolicy, RefusalCount
from emhana.devtools import demo_clock
from emhana.devtools.demo import journey_starts, pki_folder, seed
from emhana.devtools.generator import run_with_progress
from emhana.facilities.models import Inclusion
from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress
from emhana.identity.rules import age_on, minority_ends
from emhana.kernel import clock
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.trust.chain.verify import verify
from tests.builders.databases import fresh_database

POPULATION = 1_500
DAY = dt.date(2026, 10, 13)  # inside the 2026 campaign period (1 September - 1 November)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    folder: Path = tmp_path_factory.mktemp("demo-world")
    with fresh_database(folder) as url:
        seed(url, population=POPULATION, seed_value=3, generate=run_with_progress, today=DAY)
        engine = make_engine(url)
        yield url, engine
        engine.dispose()


@pytest.fixture
def world(seeded: tuple[str, Engine]) -> Iterator[tuple[str, Session]]:
    """The seeded demo and a read-only session on it (the test's own snapshot, holding no lock)."""
    url, engine = seeded
    with unit_of_work(make_sessionmaker(engine), read_only=True) as s:
        yield url, s


def test_everyone_has_the_identity_documents_the_state_databases_hold(world: tuple[str, Session]) -> None:
    _, s = world
    kinds: dict[int, set[str]] = {}
    for pid, kind in s.execute(select(IdentityDocument.person_id, IdentityDocument.kind)):
        kinds.setdefault(pid, set()).add(kind)
    people = s.execute(select(Person.id, Person.birth_date, Person.category).where(Person.death_date.is_(None))).all()
    assert len(kinds) == len(people)
    for pid, born, category in people:
        age = age_on(born, DAY)
        if category == "citizen" and age < 18:
            assert "birth_certificate" in kinds[pid]
        if category == "citizen" and age >= 16:
            assert kinds[pid] & {"id_card", "passport"}
    expired = s.scalar(select(func.count()).where(IdentityDocument.expires_on < DAY)) or 0
    assert 0 < expired < len(people) * 0.05  # a few out of date: refused on eGov


def test_some_live_work_or_study_elsewhere_than_their_registration_address(world: tuple[str, Session]) -> None:
    _, s = world
    kinds = Counter(s.scalars(select(PersonAddress.kind)))
    assert kinds["permanent"] == s.scalar(select(func.count()).select_from(Person))
    assert min(kinds["actual"], kinds["temporary"], kinds["work"], kinds["study"]) > 0
    moved = s.execute(
        select(PersonAddress.lat, PersonAddress.lon, PersonAddress.person_id).where(PersonAddress.kind == "actual")
    ).all()
    permanent = select(PersonAddress.lat, PersonAddress.lon, PersonAddress.person_id).where(
        PersonAddress.kind == "permanent"
    )
    homes = {p: (lat, lon) for lat, lon, p in s.execute(permanent)}
    assert sum(homes[p] != (lat, lon) for lat, lon, p in moved) > len(moved) * 0.8


def test_children_are_represented_by_a_parent_on_their_birth_certificate(world: tuple[str, Session]) -> None:
    _, s = world
    rows = s.execute(
        select(LegalRepresentation, IdentityDocument.number, Person.birth_date)
        .join(Person, Person.id == LegalRepresentation.represented_id)
        .join(
            IdentityDocument,
            (IdentityDocument.person_id == Person.id) & (IdentityDocument.kind == "birth_certificate"),
        )
    ).all()
    assert len(rows) > 100
    for rep, number, born in rows:
        assert (rep.basis, rep.document_kind, rep.document_number) == ("parent", "birth_certificate", number)
        assert rep.valid_from == born and rep.valid_to == minority_ends(born)
    ages = Counter(age_on(born, DAY) < 5 for _, _, born in rows)
    assert ages[True] and ages[False]  # under 5 and 5-17


def test_the_demo_citizen_is_a_parent_who_lives_elsewhere_than_she_is_registered(
    seeded: tuple[str, Engine], world: tuple[str, Session]
) -> None:
    _, s = world
    citizen = s.scalar(select(Account).where(Account.username == "demo-citizen"))
    assert citizen is not None and citizen.person_id is not None
    kids = s.scalars(
        select(Person)
        .join(LegalRepresentation, LegalRepresentation.represented_id == Person.id)
        .where(LegalRepresentation.representative_id == citizen.person_id)
    ).all()
    ages = [age_on(k.birth_date, DAY) for k in kids]
    assert any(a < 5 for a in ages) and any(5 <= a < 18 for a in ages)
    places = {a.kind: a for a in s.scalars(select(PersonAddress).where(PersonAddress.person_id == citizen.person_id))}
    assert (places["actual"].lat, places["actual"].lon) != (places["permanent"].lat, places["permanent"].lon)
    infant = next(k for k in kids if age_on(k.birth_date, DAY) < 5)
    assert s.scalar(select(PersonAddress).where(PersonAddress.person_id == infant.id, PersonAddress.kind == "actual"))
    assert s.scalar(select(Account).where(Account.username == "demo-neighbour")) is not None
    starts = journey_starts(seeded[0], DAY)
    assert starts.pensioner_iin and starts.excludable_id is not None
    pensioner = select(Person.id).where(Person.iin == starts.pensioner_iin).scalar_subquery()
    assert not s.scalar(select(Application.id).where(Application.person_id == pensioner))  # his journey is fresh


def test_the_campaign_history_runs_through_the_period_up_to_the_demo_day(world: tuple[str, Session]) -> None:
    _, s = world
    states = Counter(s.scalars(select(Application.state)))
    assert states["approved"] > 100 and states["refused"] > 0 and states["submitted"] > 0
    days = s.execute(select(func.min(Application.filed_on), func.max(Application.filed_on))).one()
    assert dt.date(2026, 9, 1) <= days[0] and days[1] < DAY
    assert len(set(s.scalars(select(Application.filed_on)))) > 20  # applications on most working days
    by_reason = select(RefusalCount.reason_code, func.sum(RefusalCount.count)).group_by(RefusalCount.reason_code)
    refused = set(s.scalars(by_reason))
    assert {"attachment.atu_mismatch", "attachment.profile_mismatch", "attachment.document_expired"} <= refused
    moves = s.execute(
        select(func.count())
        .select_from(Attachment)
        .where(Attachment.cause == "voluntary_change", Attachment.begin_date == dt.date(2027, 1, 1))
    ).scalar()
    assert moves and moves > 100  # transfers take effect on 1 January
    assert s.scalar(select(func.count()).where(Inclusion.status == "excluded")) == 1
    assert s.scalar(select(func.count()).where(Attachment.cause == "redistribution"))
    excluded = s.scalar(select(Inclusion.entity_id).where(Inclusion.status == "excluded"))
    still = select(func.count()).where(Attachment.entity_id == excluded, Attachment.end_date.is_(None))
    assert s.scalar(still) == 0  # nobody left attached to the excluded organization


def test_medical_books_are_in_every_state(world: tuple[str, Session]) -> None:
    url, s = world
    clearances = s.execute(
        select(JournalEntry.book_id, JournalEntry.clearance, JournalEntry.signature_state, JournalEntry.valid_until)
        .where(JournalEntry.kind == "clearance")
        .order_by(JournalEntry.id)
    ).all()
    last = {book: (state, signed, until) for book, state, signed, until in clearances}
    states = Counter(
        "expired"
        if state == "granted" and signed == "signed" and until is not None and until < DAY
        else f"{state}/{signed}"
        for state, signed, until in last.values()
    )
    if pki_folder(url) is None:  # no demo PKI beside a PostgreSQL database: nothing is signed (`emhana demo` is SQLite)
        assert {"suspended/pending", "refused/pending", "granted/pending"} <= set(states)
    else:
        assert {"granted/signed", "expired", "suspended/pending", "refused/signed", "granted/pending"} <= set(states)
    assert s.scalar(select(func.count()).where(JournalEntry.kind == "referral"))
    assert (s.scalar(select(func.count()).select_from(MedicalBook)) or 0) > 10


def test_the_seeded_history_verifies_in_its_hash_chains(world: tuple[str, Session]) -> None:
    _, s = world
    report = verify(s.connection())
    assert report.findings == []
    assert report.links > 3 * POPULATION  # persons, attachments, applications, representations, audit events


def test_the_demo_day_lies_in_an_open_campaign_period(world: tuple[str, Session]) -> None:
    _, s = world
    assert demo_clock.default_day(s, DAY) == DAY  # inside the period: today
    after = demo_clock.default_day(s, dt.date(2026, 12, 6))  # after it: six weeks into next year's period
    assert after == dt.date(2027, 10, 13) and after.weekday() < 5
    assert demo_clock.default_day(s, dt.date(2026, 3, 2)) == dt.date(2026, 10, 13)  # before it: this year's
    policy = s.scalar(select(CampaignPolicy).where(CampaignPolicy.year == 2026))
    assert policy is not None and demo_clock.period_open(policy, DAY)


def test_the_demo_clock_stands_on_its_day_and_ticks() -> None:
    start = demo_clock.start_of(DAY, real_now=dt.datetime(2026, 12, 6, 9, tzinfo=dt.UTC))
    assert start == dt.datetime(2026, 10, 13, 10, tzinfo=clock.KZ_TIME)
    ticking = demo_clock.Ticking(start)
    with clock.use(ticking):
        first = clock.now()
        time.sleep(0.02)
        assert clock.today() == DAY and clock.now() > first
    today = dt.datetime(2026, 10, 13, 7, 30, tzinfo=dt.UTC)
    assert demo_clock.start_of(DAY, real_now=today) == today.astimezone(clock.KZ_TIME)  # today: from now
