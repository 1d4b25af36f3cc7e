"""The PostgreSQL path (COPY, reserved ids, sequences) in a schema of its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine, text

from emhana.devtools.generator import generate
from emhana.facilities.service import near
from emhana.identity.models import Person
from emhana.identity.rules import is_valid_iin
from emhana.kernel.db import make_sessionmaker


def test_copy_path_writes_every_row_and_keeps_sequences_ahead(pg_url: str, engine_of: Callable[[str], Engine]) -> None:
    engine = engine_of(pg_url)
    stats = generate(engine, population=5_000, seed=3, batch=1_500)
    assert stats.facilities_written and stats.persons == 5_000
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT COUNT(*) FROM person), (SELECT COUNT(*) FROM person_address), "
                "(SELECT COUNT(*) FROM person_phone), (SELECT COUNT(DISTINCT iin) FROM person)"
            )
        ).one()
        assert tuple(counts) == (5_000, 5_000, 5_000, 5_000)
        assert all(is_valid_iin(i) for i in conn.execute(text("SELECT iin FROM person")).scalars())
        assert conn.scalar(text("SELECT MAX(id) FROM person")) == 5_000
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:  # the application's own inserts take ids after the generated block
        p = Person(
            iin="900101300011",
            surname="Тест",
            given_name="Тест",
            birth_date=dt.date(1990, 1, 1),
            sex="male",
            category="citizen",
        )
        s.add(p)
        s.flush()
        assert p.id == 5_001
    again = generate(engine, population=1_000, seed=3)
    assert not again.facilities_written and again.first_person_id == 5_002
    with sessions() as s:
        found = near(session=s, lat=51.13, lon=71.43, day=dt.date(2026, 3, 1), limit=5)
        assert len(found) == 5 and found[0].distance_km <= found[-1].distance_km
        assert s.scalar(text("SELECT COUNT(DISTINCT iin) FROM person")) == 6_001
