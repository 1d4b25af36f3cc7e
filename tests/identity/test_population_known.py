"""A caller that has read a person's organization in a read-only unit of work tells identity
(``access.attachment_known``), which then answers the population check from it without asking the registered
reader; a unit of work that writes, or the next transaction, asks again."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.identity import access
from emhana.kernel.db import unit_of_work

DAY = dt.date(2025, 9, 10)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    calls: list[tuple[str, int]] = []

    def reader(session: Session, person_id: int, day: dt.date) -> int | None:
        calls.append(("attachment", person_id))
        return 7 if person_id == 1 else None

    def relation(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
        calls.append(("relation", person_id))
        return entity_id == 9 and person_id == 3

    monkeypatch.setattr(access, "_attachment", [reader])
    monkeypatch.setattr(access, "_relations", {"case": relation})
    return calls


def test_a_known_organization_is_not_asked_for(sessions: sessionmaker[Session], asked: list[tuple[str, int]]) -> None:
    with unit_of_work(sessions, read_only=True) as s:
        s.connection()
        access.attachment_known(s, 1, DAY, 7)
        assert access.in_population(s, 7, 1, DAY)
        assert asked == []
        access.attachment_known(s, 2, DAY, 8)  # what the caller read wins over what the reader would say
        assert access.in_population(s, 8, 2, DAY)
        assert asked == []
        access.attachment_known(s, 3, DAY, None)
        assert access.in_population(s, 9, 3, DAY)  # not attached there: the open cases are still asked
        assert not access.in_population(s, 7, 3, DAY)
        assert asked == [("relation", 3), ("relation", 3)]
        assert access.in_population(s, 7, 1, DAY + dt.timedelta(days=1))  # another day: asked
        assert asked[-1] == ("attachment", 1)
    with unit_of_work(sessions, read_only=True) as s:  # a new transaction knows nothing
        s.connection()
        assert not access.in_population(s, 8, 2, DAY)
        assert asked[-2:] == [("attachment", 2), ("relation", 2)]


def test_nothing_is_kept_in_a_unit_of_work_that_writes(
    sessions: sessionmaker[Session], asked: list[tuple[str, int]]
) -> None:
    with unit_of_work(sessions) as s:
        s.connection()
        access.attachment_known(s, 2, DAY, 8)
        assert not access.in_population(s, 8, 2, DAY)
    assert asked == [("attachment", 2), ("relation", 2)]
