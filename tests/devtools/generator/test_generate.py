"""Generating into a migrated database: determinism, validity, regions, continuation on existing data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine, text

from emhana.devtools.generator import GenerateStats, generate
from emhana.devtools.generator.progress import summary
from emhana.identity.rules import is_valid_bin, is_valid_iin
from emhana.reference.loader import region_rows
from emhana.reference.rules import in_kazakhstan
from tests.builders.databases import digest

PERSON_HASH_SQL = (
    "SELECT p.id, p.iin, p.surname, p.given_name, p.patronymic, p.birth_date, p.sex, p.category, "
    "a.kato_code, a.text_ru, a.text_kk, a.lat, a.lon, t.number FROM person p "
    "JOIN person_address a ON a.person_id = p.id JOIN person_phone t ON t.person_id = p.id ORDER BY p.id"
)


def test_same_seed_gives_identical_rows(sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]) -> None:
    first, second, third = (engine_of(sqlite_db(n)) for n in ("a", "b", "c"))
    for engine, seed in ((first, 42), (second, 42), (third, 43)):
        generate(engine, population=3_000, seed=seed, batch=700)
    sites = "SELECT s.id, s.name_ru, s.lat, s.lon, s.kato_code, e.bin FROM site s JOIN entity e ON e.id = s.entity_id"
    assert digest(first, PERSON_HASH_SQL) == digest(second, PERSON_HASH_SQL)
    assert digest(first, sites + " ORDER BY s.id") == digest(second, sites + " ORDER BY s.id")
    assert digest(first, PERSON_HASH_SQL) != digest(third, PERSON_HASH_SQL)


def test_rows_are_valid_and_spread_over_every_region(
    sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]
) -> None:
    engine = engine_of(sqlite_db("v"))
    progress: list[tuple[str, int, int]] = []
    stats = generate(engine, population=10_000, seed=1, batch=3_000, progress=lambda *a: progress.append(a))
    assert ("persons", 10_000, 10_000) in progress and ("facilities", 1, 1) in progress
    assert isinstance(stats, GenerateStats) and stats.person_rows == 40_000 and "persons" in summary(stats)
    with engine.connect() as conn:
        iins = conn.execute(text("SELECT iin FROM person UNION ALL SELECT iin FROM practitioner")).scalars().all()
        assert len(iins) == 10_000 + stats.practitioners and len(set(iins)) == len(iins)
        assert all(is_valid_iin(i) for i in iins)
        bins = conn.execute(text("SELECT bin FROM entity")).scalars().all()
        assert len(bins) == stats.entities and len(set(bins)) == len(bins)
        assert all(is_valid_bin(b) for b in bins)
        sites = conn.execute(
            text("SELECT s.lat, s.lon, s.kato_code, k.code FROM site s LEFT JOIN kato_unit k ON k.code = s.kato_code")
        ).all()
        assert len(sites) == stats.sites
        assert all(in_kazakhstan(lat, lon) and known for lat, lon, _, known in sites)
        assert {kato[:2] for _, _, kato, _ in sites} == {r["kato"][:2] for r in region_rows()}
        assert (
            conn.scalar(
                text(
                    "SELECT COUNT(*) FROM entity e WHERE NOT EXISTS (SELECT 1 FROM inclusion i "
                    "WHERE i.entity_id = e.id AND i.status = 'included')"
                )
            )
            == 0
        )
        assert conn.scalar(text("SELECT COUNT(*) FROM district WHERE doctor_id IS NULL")) == 0
        capacity = conn.scalar(text("SELECT SUM(capacity) FROM district"))
        assert capacity >= 10_000
        addresses = conn.execute(
            text(
                "SELECT a.kato_code, a.lat, a.lon, k.code FROM person_address a "
                "LEFT JOIN kato_unit k ON k.code = a.kato_code"
            )
        ).all()
        assert all(known and in_kazakhstan(lat, lon) for _, lat, lon, known in addresses)
        males = conn.scalar(text("SELECT AVG(CASE WHEN sex = 'male' THEN 1.0 ELSE 0 END) FROM person"))
        assert 0.45 <= males <= 0.52
    regions = Counter(kato[:2] for kato, *_ in addresses)
    total = sum(r["population"] for r in region_rows())
    for r in region_rows():  # persons follow the regions table
        assert abs(regions[r["kato"][:2]] / 10_000 - r["population"] / total) < 0.002


def test_a_second_run_continues_ids_and_serials(
    sqlite_db: Callable[[str], str], engine_of: Callable[[str], Engine]
) -> None:
    engine = engine_of(sqlite_db("twice"))
    first = generate(engine, population=2_000, seed=9)
    again = generate(engine, population=2_000, seed=9)  # same seed: same dates, so serials must move on
    assert first.facilities_written and not again.facilities_written
    assert again.first_person_id == 2_001
    forced = generate(engine, population=0, seed=9, facilities=True)
    assert forced.entities == first.entities
    with engine.connect() as conn:
        iins = conn.execute(text("SELECT iin FROM person")).scalars().all()
        assert len(iins) == len(set(iins)) == 4_000
        doctors = conn.execute(text("SELECT iin FROM practitioner")).scalars().all()
        assert len(set(doctors) | set(iins)) == len(doctors) + len(iins)
        bins = conn.execute(text("SELECT bin FROM entity")).scalars().all()
        assert len(bins) == len(set(bins)) == 2 * first.entities
        assert conn.scalar(text("SELECT COUNT(*) FROM person_address WHERE person_id > 4000")) == 0
