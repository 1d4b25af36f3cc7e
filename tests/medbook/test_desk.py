"""The desk's list of an organization's books (emhana.medbook.desk): the books it keeps or has recorded in, with
group, clearance status and "valid until"; the "due within N days" filter (C-21); paging; nothing of another
organization; every line shown logged as a read of its book."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.identity.models import Person
from emhana.medbook import desk
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.rules import ClearanceStatus
from tests.builders.medbook import TODAY, World, book_body, granted_book, issue_book, record
from tests.builders.people import add_person

API = "/api/v1/medbook"
VALID_UNTIL = dt.date(2027, 3, 2)  # the clean scope of 2 March 2026 + 12 months


def more_books(client: TestClient, w: World, sessions: sessionmaker[Session], surnames: list[str]) -> list[int]:
    """Issue a book at clinic A to a new person of each surname; return the book ids."""
    ids = []
    for surname in surnames:
        person = add_person(sessions, sex="female")
        with sessions.begin() as s:
            p = s.get(Person, person)
            assert p is not None
            p.surname = surname
            iin = p.iin
        r = client.post(f"{API}/books", headers=w.h["rt_a"], json=book_body(w, iin=iin))
        assert r.status_code == 201, r.text
        ids.append(int(r.json()["id"]))
    return ids


def listed_reads(sessions: sessionmaker[Session], account_id: int) -> list[str]:
    with sessions() as s:
        return sorted(
            s.scalars(
                select(AuditEvent.object_id).where(
                    AuditEvent.action == "medbook.list.read",
                    AuditEvent.account_id == account_id,
                    AuditEvent.purpose == desk.BOOKS_PURPOSE,
                )
            )
        )


def test_the_list_shows_group_status_and_valid_until(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = granted_book(client, world)
    [other] = more_books(client, world, sessions, ["Абаева"])
    with sessions.begin() as s:
        found = desk.books(session=s, actor=world.actors["clin_a"], today=TODAY)
    assert found.total == 2 and not found.has_next and not found.has_previous
    by_id = {line.book_id: line for line in found.items}
    assert [line.book_id for line in found.items] == [other, book["id"]]  # by surname: Абаева before Тестов
    cook = by_id[book["id"]]
    assert (cook.status, cook.valid_until, cook.kept_here) == (ClearanceStatus.GRANTED, VALID_UNTIL, True)
    assert cook.group_code == "catering" and cook.group_name("ru") and cook.group_name("ru") != "catering"
    assert cook.group_name("kk") != cook.group_name("en")
    assert (by_id[other].status, by_id[other].valid_until) == (ClearanceStatus.NONE, None)


def test_due_within_n_days(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    book = granted_book(client, world)
    more_books(client, world, sessions, ["Абаева"])  # no clearance: never due
    near = VALID_UNTIL - dt.timedelta(days=20)
    with sessions.begin() as s:
        within_30 = desk.books(session=s, actor=world.actors["rt_a"], today=near, within_days=30)
        within_10 = desk.books(session=s, actor=world.actors["rt_a"], today=near, within_days=10)
        today = desk.books(session=s, actor=world.actors["rt_a"], today=TODAY, within_days=30)
    assert [line.book_id for line in within_30.items] == [book["id"]] and within_30.total == 1
    assert within_30.within_days == 30
    assert within_10.items == [] and within_10.total == 0
    assert today.items == []


def test_paging(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    ids = more_books(client, world, sessions, ["Вагина", "Абаева", "Гиматова", "Бекова", "Дариева"])
    order = [ids[1], ids[3], ids[0], ids[2], ids[4]]  # А, Б, В, Г, Д
    with sessions.begin() as s:
        pages = [
            desk.books(session=s, actor=world.actors["clin_a"], today=TODAY, page=n, per_page=2) for n in (1, 2, 3)
        ]
    assert [[line.book_id for line in p.items] for p in pages] == [order[:2], order[2:4], order[4:]]
    assert [(p.has_previous, p.has_next, p.total) for p in pages] == [
        (False, True, 5),
        (True, True, 5),
        (True, False, 5),
    ]


def test_only_the_organizations_books(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    book = issue_book(client, world)
    with sessions.begin() as s:
        assert desk.books(session=s, actor=world.actors["clin_b"], today=TODAY).items == []
        assert desk.books(session=s, actor=world.actors["rt_x"], today=TODAY).total == 0
    # An organization that recorded an entry in the book sees it too, marked as kept elsewhere.
    r = record(client, world, book["id"], "specialist_exam", "therapist", "normal")
    assert r.status_code == 201, r.text
    with sessions.begin() as s:
        s.execute(update(JournalEntry).where(JournalEntry.id == r.json()["id"]).values(entity_id=world.b))
    with sessions.begin() as s:
        [line] = desk.books(session=s, actor=world.actors["clin_b"], today=TODAY).items
    assert line.book_id == book["id"] and not line.kept_here
    assert listed_reads(sessions, world.actors["clin_b"].account_id) == [str(book["id"])]


def test_each_line_shown_is_logged(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    ids = more_books(client, world, sessions, ["Абаева", "Бекова", "Вагина"])
    reader = world.actors["clin_a"]
    with sessions.begin() as s:
        desk.books(session=s, actor=reader, today=TODAY, per_page=2)
    assert listed_reads(sessions, reader.account_id) == sorted(str(i) for i in ids[:2])  # the third is not shown
    with sessions() as s:
        owners = set(
            s.scalars(
                select(AuditEvent.subject_person_id).where(
                    AuditEvent.action == "medbook.list.read", AuditEvent.account_id == reader.account_id
                )
            )
        )
        expected = set(s.scalars(select(MedicalBook.person_id).where(MedicalBook.id.in_(ids[:2]))))
    assert owners == expected
