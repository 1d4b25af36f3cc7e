"""Writers appending to the same chains at the same moment never fork them (PostgreSQL, real row locks)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.service import record_event
from emhana.identity.models import Person
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from tests.builders.chain import links, problems
from tests.builders.databases import is_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not is_postgres(),
        reason="SQLite serialises every writer of its one file; set "
        "EMHANA_TEST_DATABASE_URL to race writers on PostgreSQL",
    ),
]

WRITERS = 12
ROUNDS = 5


def test_concurrent_writers_of_the_same_and_of_different_chains(
    database_url: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        people = [
            Person(
                iin=f"90010130{i:04d}",
                surname="Т",
                given_name="Т",
                birth_date=dt.date(1990, 1, 1),
                sex="male",
                category="citizen",
            )
            for i in range(2)
        ]
        s.add_all(people)
        s.flush()
        ids = [p.id for p in people]
    pool_engine = make_engine(database_url, pool_size=WRITERS, max_overflow=0)
    factory = make_sessionmaker(pool_engine)
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        barrier.wait()
        for r in range(ROUNDS):
            with unit_of_work(factory) as s:
                # every writer appends to the shared "-" chain and to one of two people's chains, twice
                record_event(session=s, actor=None, action="race", object_type="t", object_id=f"{n}.{r}")
                record_event(
                    session=s,
                    actor=None,
                    action="race",
                    object_type="t",
                    object_id=f"{n}.{r}",
                    subject_person_id=ids[n % 2],
                )
                s.flush()
                record_event(
                    session=s,
                    actor=None,
                    action="race2",
                    object_type="t",
                    object_id=f"{n}.{r}",
                    subject_person_id=ids[(n + 1) % 2],
                )

    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as ex:
            list(ex.map(writer, range(WRITERS)))
    finally:
        pool_engine.dispose()
    by_key: dict[str, list[int]] = {}
    for key, seq, _, _ in links(engine, "audit"):
        by_key.setdefault(key, []).append(seq)
    assert by_key == {
        "-": list(range(1, WRITERS * ROUNDS + 1)),
        str(ids[0]): list(range(1, WRITERS * ROUNDS + 1)),
        str(ids[1]): list(range(1, WRITERS * ROUNDS + 1)),
    }
    assert problems(engine) == []
