"""A read-only unit of work asks the population once per person (emhana.identity.access.in_population): the
answer is kept for its transaction (one snapshot); a unit of work that writes asks each time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.identity import access
from emhana.kernel.db import unit_of_work

DAY = dt.date(2025, 9, 10)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def reader(session: Session, person_id: int, day: dt.date) -> int | None:
        calls.append(person_id)
        return 7 if person_id == 1 else None

    monkeypatch.setattr(access, "_attachment", [reader])
    monkeypatch.setattr(access, "_relations", {})
    return calls


def test_kept_for_the_transaction_of_a_read_only_unit_of_work(
    sessions: sessionmaker[Session], asked: list[int]
) -> None:
    with unit_of_work(sessions, read_only=True) as s:
        s.connection()  # its transaction begun, as by any query
        assert access.in_population(s, 7, 1, DAY)
        assert access.in_population(s, 7, 1, DAY)
        assert not access.in_population(s, 8, 1, DAY)  # another organization: asked
        assert not access.in_population(s, 7, 2, DAY)
        assert not access.in_population(s, 7, 2, DAY)
    assert asked == [1, 1, 2]
    with unit_of_work(sessions, read_only=True) as s:  # a new transaction asks again
        s.connection()
        assert access.in_population(s, 7, 1, DAY)
    assert asked == [1, 1, 2, 1]


def test_asked_each_time_in_a_unit_of_work_that_writes(sessions: sessionmaker[Session], asked: list[int]) -> None:
    with unit_of_work(sessions) as s:
        s.connection()
        assert access.in_population(s, 7, 1, DAY)
        assert access.in_population(s, 7, 1, DAY)
    assert asked == [1, 1]
