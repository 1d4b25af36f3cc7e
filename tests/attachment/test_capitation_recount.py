"""A-121: capitation counts checked against an independent recount, in plain Python, from the attachment periods
(first and last days both counted, the insured term too), not the query that made them; and the default age
bands, an unverified default with infants under 1 apart (A-121, L)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import capitation, placement
from emhana.attachment.application import service
from emhana.attachment.enums import DEFAULT_BANDS, Channel, EndReason
from emhana.attachment.models import Attachment
from emhana.attachment.schemas import ApplicationIn
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from tests.builders.attachment import IN_WINDOW, Country
from tests.builders.people import represent

D = dt.date


def band_by_hand(born: dt.date, day: dt.date) -> str:
    """The default bands, written out: under 1, 1-4, 5-14, 15-17, 18-39, 40-64, 65 and over."""
    age = day.year - born.year
    if (day.month, day.day) < (born.month, born.day):
        age -= 1
    for top, label in ((0, "0"), (4, "1-4"), (14, "5-14"), (17, "15-17"), (39, "18-39"), (64, "40-64")):
        if age <= top:
            return label
    return "65+"


Period = tuple[int, int, dt.date, dt.date | None, dt.date | None]


def recount(
    periods: list[Period], people: dict[int, tuple[dt.date, str]], day: dt.date
) -> dict[tuple[int, str, str], int]:
    """Count (entity, sex, band) on a day from (person, entity, begin, end, insured until): both ends inclusive."""
    found: Counter[tuple[int, str, str]] = Counter()
    for person_id, entity_id, begin, end, insured in periods:
        if begin <= day and (end is None or day <= end) and (insured is None or day <= insured):
            born, sex = people[person_id]
            found[(entity_id, sex, band_by_hand(born, day))] += 1
    return dict(found)


def submit(sessions: sessionmaker[Session], actor: Actor, person_id: int, district_id: int, at: dt.datetime) -> None:
    with sessions.begin() as s:
        service.submit(
            session=s,
            actor=actor,
            data=ApplicationIn(person_id=person_id, district_id=district_id),
            channel=Channel.EGOV,
            now=at,
        )


def test_counts_match_an_independent_recount_from_the_periods(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    def actor(pid: int) -> Actor:
        return make_actor(Role.CITIZEN, person_id=pid)[0]

    parent = person(born=D(1990, 1, 1), sex="female")
    infant = person(born=D(2024, 9, 12), sex="male", documents=[("birth_certificate", None)])  # 1 on 12 Sep 2025
    newborn = person(born=D(2025, 6, 1), sex="female", documents=[("birth_certificate", None)])
    for child in (infant, newborn):
        represent(sessions, parent, child)
    adults = [person(born=D(1950 + 7 * i, 3, 1 + i), sex=("male", "female")[i % 2]) for i in range(6)]
    migrant = person(  # counted up to and including the last day of the insured term
        born=D(1995, 2, 2),
        category="eaeu_migrant",
        documents=[("passport", None), ("insurance_contract", D(2025, 11, 4))],
    )
    submit(sessions, actor(migrant), migrant, country.districts[("B1", 1)], IN_WINDOW)
    submit(sessions, actor(parent), infant, country.districts[("A1", 2)], IN_WINDOW)
    submit(sessions, actor(parent), newborn, country.districts[("A1", 2)], IN_WINDOW)
    submit(sessions, actor(parent), parent, country.districts[("A2", 1)], IN_WINDOW)
    for i, pid in enumerate(adults):
        submit(sessions, actor(pid), pid, country.districts[(("A1", "B1", "A2")[i % 3], 1)], IN_WINDOW)
    # A change for next year, a death ending on a day, an emigration.
    later = IN_WINDOW + dt.timedelta(days=20)
    submit(sessions, actor(adults[0]), adults[0], country.districts[("B1", 1)], later)
    with sessions.begin() as s:
        placement.detach(
            session=s,
            actor=None,
            person_id=adults[1],
            reason=EndReason.DEATH,
            on=D(2025, 10, 15),
            today=D(2025, 10, 15),
        )
        placement.detach(
            session=s,
            actor=None,
            person_id=adults[2],
            reason=EndReason.EMIGRATION,
            on=D(2025, 11, 3),
            today=D(2025, 10, 20),
        )
    with sessions() as s:
        periods = [
            (a.person_id, a.entity_id, a.begin_date, a.end_date, a.insured_until) for a in s.scalars(select(Attachment))
        ]
        people = {p.id: (p.birth_date, p.sex) for p in s.scalars(select(Person))}
        days = [
            D(2025, 9, 10),
            D(2025, 9, 11),
            D(2025, 9, 12),
            D(2025, 10, 15),
            D(2025, 10, 16),
            D(2025, 11, 3),
            D(2025, 11, 4),
            D(2025, 11, 5),
            D(2025, 12, 31),
            D(2026, 1, 1),
            D(2026, 6, 1),
        ]
        for day in days:
            assert capitation.compute_counts(session=s, as_of=day) == recount(periods, people, day), day
        insured = next(i for p, _, _, _, i in periods if p == migrant)
        assert insured == D(2025, 11, 4)
        assert recount(periods, people, D(2025, 11, 4)).get((country.b, "male", "18-39"), 0) > recount(
            periods, people, D(2025, 11, 5)
        ).get((country.b, "male", "18-39"), 0)
        # The last day of an attachment is counted, the next is not (end dates inclusive).
        dead_end = next(e for p, _, _, e, _ in periods if p == adults[1])
        assert dead_end == D(2025, 10, 15)
        on_last = capitation.compute_counts(session=s, as_of=dead_end)
        after = capitation.compute_counts(session=s, as_of=dead_end + dt.timedelta(days=1))
        assert sum(on_last.values()) == sum(after.values()) + 1
        # Infants under 1 are a band of their own; the infant moves to 1-4 on its first birthday.
        assert recount(periods, people, D(2025, 9, 11))[(country.a, "male", "0")] == 1
        assert (country.a, "male", "0") not in capitation.compute_counts(session=s, as_of=D(2025, 9, 12))
        assert capitation.compute_counts(session=s, as_of=D(2025, 9, 12))[(country.a, "male", "1-4")] == 1


def test_default_bands_are_an_unverified_default_with_infants_apart() -> None:
    bands = capitation.parse_bands(DEFAULT_BANDS)
    assert [(b.low, b.high) for b in bands[:2]] == [(0, 0), (1, 4)]
    assert capitation.bands_unverified(DEFAULT_BANDS) and not capitation.bands_unverified("0-17,18+")
    assert capitation.parse_bands("0,1,2-4,5+")[1].label == "1"
    assert "unverified" in capitation.UNVERIFIED_BANDS


def test_a_snapshot_in_the_past_matches_the_recount_whatever_happens_since(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    pid = person(born=D(2000, 1, 1))
    submit(sessions, make_actor(Role.CITIZEN, person_id=pid)[0], pid, country.districts[("A1", 1)], IN_WINDOW)
    with sessions.begin() as s:
        snap = capitation.take_snapshot(session=s, actor=None, as_of=D(2025, 9, 30), today=D(2025, 10, 1))
        stored = {(c.entity_id, c.sex, c.band): c.count for c in capitation.counts_of(session=s, snapshot=snap)}
    submit(
        sessions,
        make_actor(Role.CITIZEN, person_id=pid)[0],
        pid,
        country.districts[("B1", 1)],
        dt.datetime(2025, 10, 2, 10, tzinfo=KZ_TIME),
    )
    with sessions() as s:
        periods = [
            (a.person_id, a.entity_id, a.begin_date, a.end_date, a.insured_until) for a in s.scalars(select(Attachment))
        ]
        people = {p.id: (p.birth_date, p.sex) for p in s.scalars(select(Person))}
    assert stored == recount(periods, people, D(2025, 9, 30)) == {(country.a, "male", "18-39"): 1}


def test_stored_snapshots_and_their_trace_match_the_recount_on_birthdays_and_any_bands(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    """The stored cells (on PostgreSQL counted in parallel workers, issue 18) and the persons traced in them are
    those of the recount: each person once, with the attachment that counted them, in the right band on the day of
    a birthday (29 February included) and with bands the Fund sets."""
    born = [D(1988, 2, 29), D(1986, 3, 1), D(1961, 3, 1), D(1960, 2, 29), D(2007, 3, 1), D(1990, 7, 7)]
    pids = [person(born=b, sex=("male", "female")[i % 2]) for i, b in enumerate(born)]
    for i, pid in enumerate(pids):
        district = country.districts[(("A1", "B1", "A2")[i % 3], 1)]
        submit(sessions, make_actor(Role.CITIZEN, person_id=pid)[0], pid, district, IN_WINDOW)
    with sessions() as s:
        rows = list(s.scalars(select(Attachment)))
        periods = [(a.person_id, a.entity_id, a.begin_date, a.end_date, a.insured_until) for a in rows]
        people = {p.id: (p.birth_date, p.sex) for p in s.scalars(select(Person))}
        attachment_of = {(a.person_id, a.entity_id): a.id for a in rows}
    days = [D(2026, 2, 28), D(2026, 3, 1), D(2028, 2, 28), D(2028, 2, 29), D(2029, 3, 1)]
    with sessions.begin() as s:
        for day in days:
            snap = capitation.take_snapshot(session=s, actor=None, as_of=day, today=day)
            stored = {(c.entity_id, c.sex, c.band): c.count for c in capitation.counts_of(session=s, snapshot=snap)}
            assert stored == recount(periods, people, day), day
            assert snap.total == sum(stored.values())
            traced = capitation.persons_of(session=s, snapshot=snap)
            assert sorted(t.person_id for t in traced) == sorted(p for p, _, b, _, _ in periods if b <= day)
            for t in traced:
                assert t.attachment_id == attachment_of[(t.person_id, t.entity_id)]
                assert t.band == band_by_hand(people[t.person_id][0], day) and t.sex == people[t.person_id][1]
        fund = capitation.take_snapshot(
            session=s, actor=None, as_of=D(2030, 1, 1), today=D(2030, 1, 1), bands="0-17,18-40,41+"
        )
        by_band = Counter(t.band for t in capitation.persons_of(session=s, snapshot=fund))
        assert by_band == {"18-40": 2, "41+": 4}


def copies(s: Session) -> dict[int, tuple[str | None, dt.date | None]]:
    """Each attachment's copy of its person's sex and birth date (migration 0037), by attachment id."""
    return {a.id: (a.person_sex, a.person_birth_date) for a in s.scalars(select(Attachment))}


def persons_of_rows(s: Session) -> dict[int, tuple[str, dt.date]]:
    """Each attachment's person's own sex and birth date, read from ``person``, by attachment id."""
    found = s.execute(
        select(Attachment.id, Person.sex, Person.birth_date).join(Person, Person.id == Attachment.person_id)
    )
    return {int(i): (str(sex), born) for i, sex, born in found}


def test_the_copies_on_the_attachment_rows_follow_the_person_and_the_snapshot_the_recount(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    """The count reads sex and birth date from the attachment row (issue 18): the database sets them from the
    person on every insert, whatever the writer gives, and again when the person's are corrected, so a snapshot
    taken after a correction is the recount from ``person``."""
    pids = [person(born=D(1980 + i, 5, 5), sex=("male", "female")[i % 2]) for i in range(4)]
    for i, pid in enumerate(pids):
        submit(
            sessions,
            make_actor(Role.CITIZEN, person_id=pid)[0],
            pid,
            country.districts[(("A1", "B1")[i % 2], 1)],
            IN_WINDOW,
        )
    with sessions() as s:
        assert copies(s) == persons_of_rows(s) and len(copies(s)) == 4
    # A correction of the person's record (sex, then birth date) reaches every attachment of that person.
    with sessions.begin() as s:
        fixed = s.get(Person, pids[0])
        assert fixed is not None
        fixed.sex = "female"
        s.flush()
        fixed.birth_date = D(2020, 1, 2)
        s.get(Person, pids[1]).category = "citizen"  # type: ignore[union-attr]  # another field: nothing to copy
    # A writer that gives other values (here in SQL) does not keep them.
    with sessions.begin() as s:
        s.execute(
            update(Attachment)
            .where(Attachment.person_id == pids[2])
            .values(person_sex="female", person_birth_date=D(1900, 1, 1))
        )
    with sessions() as s:
        assert copies(s) == persons_of_rows(s)
        assert {sex for sex, _ in copies(s).values()} == {"male", "female"}
        periods = [
            (a.person_id, a.entity_id, a.begin_date, a.end_date, a.insured_until) for a in s.scalars(select(Attachment))
        ]
        people = {p.id: (p.birth_date, p.sex) for p in s.scalars(select(Person))}
    day = D(2026, 6, 1)
    with sessions.begin() as s:
        snap = capitation.take_snapshot(session=s, actor=None, as_of=day, today=day)
        stored = {(c.entity_id, c.sex, c.band): c.count for c in capitation.counts_of(session=s, snapshot=snap)}
        assert stored == recount(periods, people, day)
        assert stored[(country.a, "female", "5-14")] == 1  # the corrected person: a girl of 6
        assert capitation.fill_person_fields(s.connection()) == 0  # nothing left to set


def test_fill_person_fields_sets_copies_written_with_the_triggers_off(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    """A load that switched triggers off (PostgreSQL, ``session_replication_role``) and wrote other copies is
    set right in one statement; on SQLite no writer can switch them off, and the fill finds nothing to set."""
    pid = person(born=D(1970, 7, 7), sex="female")
    submit(sessions, make_actor(Role.CITIZEN, person_id=pid)[0], pid, country.districts[("A1", 1)], IN_WINDOW)
    with sessions.begin() as s:
        postgres = s.get_bind().dialect.name == "postgresql"
        if postgres:
            s.execute(text("SET LOCAL session_replication_role = replica"))
        s.execute(update(Attachment).values(person_sex="male", person_birth_date=D(1999, 9, 9)))
    with sessions.begin() as s:
        assert (copies(s) != persons_of_rows(s)) == postgres
        assert capitation.fill_person_fields(s.connection()) == (1 if postgres else 0)
    with sessions() as s:
        assert copies(s) == persons_of_rows(s) == {next(iter(copies(s))): ("female", D(1970, 7, 7))}


@pytest.mark.parametrize("bands", ["0+", "0-64,65+", "0,1+"])
def test_snapshots_with_few_bands_match_the_recount(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
    bands: str,
) -> None:
    """Bands the Fund may set, down to one band for every age ("0+"), on SQLite and PostgreSQL alike."""
    pids = [
        person(born=b, sex=("male", "female")[i % 2])
        for i, b in enumerate([D(1950, 1, 1), D(2025, 3, 3), D(1990, 1, 1)])
    ]
    for pid in pids[::2]:
        submit(sessions, make_actor(Role.CITIZEN, person_id=pid)[0], pid, country.districts[("A1", 1)], IN_WINDOW)
    parent = person(born=D(1991, 1, 1))
    represent(sessions, parent, pids[1])
    submit(sessions, make_actor(Role.CITIZEN, person_id=parent)[0], pids[1], country.districts[("B1", 1)], IN_WINDOW)
    day = D(2025, 12, 1)
    parsed = capitation.parse_bands(bands)

    def band(born: dt.date) -> str:
        age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        return next(b.label for b in parsed if age >= b.low and (b.high is None or age <= b.high))

    with sessions() as s:
        expected = Counter(
            (int(entity), str(sex), band(born))
            for entity, sex, born in s.execute(
                select(Attachment.entity_id, Person.sex, Person.birth_date).join(
                    Person, Person.id == Attachment.person_id
                )
            )
        )
    with sessions.begin() as s:
        assert capitation.compute_counts(session=s, as_of=day, bands=bands) == dict(expected)
        snap = capitation.take_snapshot(session=s, actor=None, as_of=day, today=day, bands=bands)
        stored = {(c.entity_id, c.sex, c.band): c.count for c in capitation.counts_of(session=s, snapshot=snap)}
        assert stored == dict(expected) and snap.total == 3
        assert len(capitation.persons_of(session=s, snapshot=snap)) == 3
