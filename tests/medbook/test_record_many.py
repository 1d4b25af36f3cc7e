"""record_many: the rules and the rows of ``record`` for a whole batch (C-12, C-13, C-30, C-40), with the hash
chain still linking every row."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import ChainLink
from emhana.kernel.errors import DateInFuture, NotIssuingStaff
from emhana.medbook import journal
from emhana.medbook.rules import Result
from emhana.medbook.schemas import ClinicalKind, EntryIn
from emhana.trust.chain.verify import verify
from tests.builders.journal_batch import BATCH, rows
from tests.builders.medbook import NOW, TODAY, World, issue_book


def test_a_batch_writes_what_one_by_one_writes_and_the_chain_verifies(
    client: TestClient, world: World, sessions: sessionmaker[Session], engine: Engine
) -> None:
    book_id = int(issue_book(client, world)["id"])
    mis = world.actors["mis_a"]
    with sessions() as s:  # one by one, then undone
        singles = [journal.record(session=s, actor=mis, book_id=book_id, data=d, now=NOW) for d in BATCH]
        expected = [e.canonical for e in singles]
        one_by_one = sorted((e.kind, e.item_code, e.clearance, e.referral_entity_id) for e in rows(s, book_id))
        s.rollback()
    with sessions.begin() as s:
        written = journal.record_many(session=s, actor=mis, book_id=book_id, entries=BATCH, now=NOW)
        assert [e.canonical for e in written] == expected  # the bytes the author's signature will cover
    with sessions() as s:
        stored = rows(s, book_id)
        assert sorted((e.kind, e.item_code, e.clearance, e.referral_entity_id) for e in stored) == one_by_one
        assert [e.kind for e in stored] == ["lab_result", "lab_result", "specialist_exam", "clearance", "referral"]
        assert stored[3].caused_by_id == stored[4].caused_by_id == stored[1].id  # C-30
        links = s.scalar(
            select(func.count())
            .select_from(ChainLink)
            .where(ChainLink.kind == "medbook", ChainLink.chain_key == str(book_id))
        )
        assert links == len(stored)
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, [str(f) for f in report.findings]


def test_a_future_date_refuses_the_batch_with_the_entry_index(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    late = EntryIn(
        kind=ClinicalKind.LAB_RESULT, item_code="helminths", performed_on=TODAY.replace(day=20), result=Result.NEGATIVE
    )
    with sessions() as s:
        with pytest.raises(journal.EntryRefused) as caught:
            journal.record_many(
                session=s, actor=world.actors["clin_a"], book_id=book_id, entries=[BATCH[0], late, BATCH[2]], now=NOW
            )
        assert caught.value.index == 1 and isinstance(caught.value.error, DateInFuture)
        assert rows(s, book_id) == []  # checked before anything is written


def test_staff_of_another_organization_may_not_write_a_batch(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    with sessions() as s:
        with pytest.raises(NotIssuingStaff):
            journal.record_many(session=s, actor=world.actors["clin_b"], book_id=book_id, entries=BATCH, now=NOW)
        assert journal.record_many(session=s, actor=world.actors["clin_a"], book_id=book_id, entries=[], now=NOW) == []
