"""record_batch: the rows, order, C-30 suspensions and referrals and hash chain links of ``record_many``, written
with one Core statement (no ORM object per entry), returning the ids in order."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import ChainLink
from emhana.kernel.errors import DateInFuture, NotIssuingStaff
from emhana.medbook import journal
from emhana.medbook.models import JournalEntry
from emhana.medbook.rules import Result
from emhana.medbook.schemas import ClinicalKind, EntryIn
from emhana.trust.chain.verify import verify
from tests.builders.journal_batch import BATCH, rows
from tests.builders.medbook import NOW, TODAY, World, issue_book

FIELDS = ("kind", "item_code", "performed_on", "result", "codes", "clearance", "referral_entity_id")


def shape(entries: list[JournalEntry]) -> list[tuple[object, ...]]:
    """What an entry says, its canonical bytes included, with the entry that caused it as its index in the list
    (PostgreSQL does not give a rolled-back id again)."""
    index: dict[int | None, int] = {e.id: n for n, e in enumerate(entries)}
    out = []
    for e in entries:
        document = json.loads(e.canonical)
        document["caused_by"] = index.get(document["caused_by"])
        out.append((*(getattr(e, f) for f in FIELDS), index.get(e.caused_by_id), document))
    return out


def test_a_batch_writes_what_record_many_writes_and_the_chain_verifies(
    client: TestClient, world: World, sessions: sessionmaker[Session], engine: Engine
) -> None:
    book_id = int(issue_book(client, world)["id"])
    mis = world.actors["mis_a"]
    with sessions() as s:  # record_many, then undone
        journal.record_many(session=s, actor=mis, book_id=book_id, entries=BATCH, now=NOW)
        expected = shape(rows(s, book_id))
        s.rollback()
    with sessions.begin() as s:
        ids = journal.record_batch(session=s, actor=mis, book_id=book_id, entries=BATCH, now=NOW)
    with sessions() as s:
        stored = rows(s, book_id)
        assert [e.id for e in stored[: len(BATCH)]] == ids  # in the order given, before the C-30 rows
        assert shape(stored) == expected  # the same bytes the author's signature will cover
        assert [e.kind for e in stored] == ["lab_result", "lab_result", "specialist_exam", "clearance", "referral"]
        assert stored[3].caused_by_id == stored[4].caused_by_id == ids[1]  # C-30: the positive carriage test
        links = s.scalar(
            select(func.count())
            .select_from(ChainLink)
            .where(ChainLink.kind == "medbook", ChainLink.chain_key == str(book_id))
        )
        assert links == len(stored)
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, [str(f) for f in report.findings]


def test_a_diagnosis_in_a_batch_is_judged_as_record_judges_it(
    client: TestClient, world: World, sessions: sessionmaker[Session], engine: Engine
) -> None:
    book_id = int(issue_book(client, world)["id"])
    mis = world.actors["mis_a"]
    diagnosis = EntryIn(
        kind=ClinicalKind.PAST_INFECTION,
        item_code="diagnosis",
        performed_on=TODAY,
        codes=["A15.0"],
        clinical_status="active",
    )
    batch = [BATCH[0], diagnosis]
    with sessions() as s:
        journal.record_many(session=s, actor=mis, book_id=book_id, entries=batch, now=NOW)
        expected = shape(rows(s, book_id))
        s.rollback()
    with sessions.begin() as s:
        journal.record_batch(session=s, actor=mis, book_id=book_id, entries=batch, now=NOW)
    with sessions() as s:
        assert shape(rows(s, book_id)) == expected
    with engine.connect() as conn:
        assert verify(conn).clean


def test_refusals_come_before_anything_is_written(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    late = EntryIn(
        kind=ClinicalKind.LAB_RESULT, item_code="helminths", performed_on=TODAY.replace(day=20), result=Result.NEGATIVE
    )
    with sessions() as s:
        with pytest.raises(journal.EntryRefused) as caught:
            journal.record_batch(
                session=s, actor=world.actors["clin_a"], book_id=book_id, entries=[BATCH[0], late], now=NOW
            )
        assert caught.value.index == 1 and isinstance(caught.value.error, DateInFuture)
        assert rows(s, book_id) == []
        with pytest.raises(NotIssuingStaff):
            journal.record_batch(session=s, actor=world.actors["clin_b"], book_id=book_id, entries=BATCH, now=NOW)
        assert journal.record_batch(session=s, actor=world.actors["clin_a"], book_id=book_id, entries=[], now=NOW) == []
