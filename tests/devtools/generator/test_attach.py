"""The generator attaches everyone it creates as the campaign would (issue 3, item 10)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from emhana.attachment.enums import AtuLevel, Cause, PlaceBasis
from emhana.attachment.rules import ADULT_AGE, age_on, atu_of, check_profile
from emhana.devtools.generator import GeneratorParams, generate
from emhana.devtools.generator.attach import unit_vectors
from tests.builders.databases import digest

ATTACHMENT_SQL = (
    "SELECT person_id, entity_id, site_id, district_id, doctor_id, place_basis, cause, begin_date, "
    "decided_on, insured_until FROM attachment ORDER BY person_id"
)


def check_register(engine: Engine, population: int, as_of: dt.date) -> dict[str, float]:
    """Assert every rule of the generated register and return a few shares."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.id, p.birth_date, a.kato_code, a.lat, a.lon, t.place_basis, t.cause, t.begin_date, "
                "t.end_date, t.decided_on, s.kato_code, s.entity_id = t.entity_id, d.site_id = t.site_id, "
                "d.profile, d.doctor_id IS NOT DISTINCT FROM t.doctor_id, t.site_id "
                "FROM person p JOIN person_address a ON a.person_id = p.id "
                "JOIN attachment t ON t.person_id = p.id JOIN site s ON s.id = t.site_id "
                "JOIN district d ON d.id = t.district_id ORDER BY p.id"
            )
        ).all()
        over = conn.execute(
            text(
                "SELECT d.id FROM district d JOIN attachment t ON t.district_id = d.id AND t.end_date IS NULL "
                "GROUP BY d.id, d.capacity HAVING COUNT(*) > d.capacity"
            )
        ).all()
        persons = conn.scalar(text("SELECT COUNT(*) FROM person"))
        sites = conn.execute(text("SELECT id, kato_code, lat, lon FROM site")).all()
    assert persons == population and len(rows) == population  # everyone, exactly once
    assert len({r[0] for r in rows}) == population
    assert over == []  # capacity never exceeded
    children = nearest = 0
    for (
        _,
        birth,
        kato,
        lat,
        lon,
        basis,
        cause,
        begin,
        end,
        decided,
        site_kato,
        same_entity,
        same_site,
        profile,
        same_doctor,
        site_id,
    ) in rows:
        birth = dt.date.fromisoformat(str(birth))
        begin, decided = dt.date.fromisoformat(str(begin)), dt.date.fromisoformat(str(decided))
        assert atu_of(kato, AtuLevel.DISTRICT) == atu_of(site_kato, AtuLevel.DISTRICT)
        age = age_on(birth, as_of)
        assert check_profile(profile, age) is None
        children += age < ADULT_AGE
        assert basis == PlaceBasis.RESIDENCE_PERMANENT.value and cause == Cause.FIRST_ATTACHMENT.value
        assert birth <= begin < as_of and decided <= begin and end is None
        assert same_entity and same_site and same_doctor
        unit = [s for s in sites if atu_of(s[1], AtuLevel.DISTRICT) == atu_of(kato, AtuLevel.DISTRICT)]
        me = unit_vectors([lat], [lon])[0]
        best = max(unit, key=lambda s: float(unit_vectors([s[2]], [s[3]])[0] @ me))
        nearest += best[0] == site_id
    return {"children": children / population, "nearest": nearest / population}


def test_everyone_attached_in_their_unit_to_a_fitting_district(
    sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]
) -> None:
    engine = engine_of(sqlite_db("att"))
    stats = generate(engine, population=4_000, seed=5, batch=900)
    assert stats.attachments == 4_000 and stats.unattached == 0 and stats.attached_outside_unit == 0
    assert 0.05 < stats.attached_by_choice / 4_000 < 0.15
    shares = check_register(engine, 4_000, GeneratorParams().as_of)
    assert 0.2 < shares["children"] < 0.45
    assert shares["nearest"] > 0.8  # mostly the nearest site; some by choice further away


def test_attachments_are_deterministic_by_seed(
    sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]
) -> None:
    a, b, c = (engine_of(sqlite_db(n)) for n in ("d1", "d2", "d3"))
    for engine, seed in ((a, 11), (b, 11), (c, 12)):
        generate(engine, population=2_000, seed=seed, batch=600)
    assert digest(a, ATTACHMENT_SQL) == digest(b, ATTACHMENT_SQL)
    assert digest(a, ATTACHMENT_SQL) != digest(c, ATTACHMENT_SQL)


def test_tight_capacity_is_never_exceeded_and_the_rest_is_counted(
    sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]
) -> None:
    engine = engine_of(sqlite_db("tight"))
    generate(engine, population=1_000, seed=2)
    with engine.begin() as conn:  # shrink every district to what it holds, then free 300 places
        conn.execute(
            text("UPDATE district SET capacity = (SELECT COUNT(*) FROM attachment t WHERE t.district_id = district.id)")
        )
        conn.execute(
            text(
                "UPDATE district SET capacity = capacity + 100 WHERE id IN "
                "(SELECT id FROM district WHERE profile = 'gp' ORDER BY id LIMIT 3)"
            )
        )
    more = generate(engine, population=500, seed=2)
    assert more.attachments == 300 and more.unattached == 200
    with engine.connect() as conn:
        assert (
            conn.execute(
                text(
                    "SELECT d.id FROM district d JOIN attachment t ON t.district_id = d.id AND t.end_date IS NULL "
                    "GROUP BY d.id, d.capacity HAVING COUNT(*) > d.capacity"
                )
            ).all()
            == []
        )
        assert conn.scalar(text("SELECT COUNT(DISTINCT person_id) FROM attachment")) == 1_300


def test_no_attachment_when_asked(sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]) -> None:
    engine = engine_of(sqlite_db("none"))
    stats = generate(engine, population=300, seed=1, attach=False)
    assert stats.attachments == 0
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM attachment")) == 0


@pytest.mark.postgres
def test_copy_path_attaches_everyone_like_sqlite(
    pg_url: str, sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]
) -> None:
    engine, lite = engine_of(pg_url), engine_of(sqlite_db("same"))
    stats = generate(engine, population=3_000, seed=5, batch=700)
    generate(lite, population=3_000, seed=5, batch=700)
    assert stats.attachments == 3_000 and stats.unattached == 0
    check_register(engine, 3_000, GeneratorParams().as_of)
    with engine.connect() as pg, lite.connect() as sq:  # COPY and executemany write the same rows
        assert [tuple(map(str, r)) for r in pg.execute(text(ATTACHMENT_SQL))] == [
            tuple(map(str, r)) for r in sq.execute(text(ATTACHMENT_SQL))
        ]
        nxt = pg.scalar(text("SELECT nextval(pg_get_serial_sequence('attachment', 'id'))"))
        assert nxt > pg.scalar(text("SELECT MAX(id) FROM attachment"))  # the sequence is ahead of the ids
