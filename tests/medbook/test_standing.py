"""The set-based clearance query (one query for many books) agrees with the per-book choice of
service.latest_clearance / views.clearance_of on books in every state, on several days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.identity.models import Person
from emhana.medbook.models import MedicalBook
from emhana.medbook.rules import ClearanceStatus, expires_within
from emhana.medbook.standing import books_of_employer, expiring, standings
from emhana.medbook.views import clearance_of
from tests.builders.medbook import EMPLOYER_BIN, NOW, OTHER_BIN, World, book_body, clean_scope, record
from tests.builders.people import add_person
from tests.builders.signatures import sign_entries

API = "/api/v1/medbook"


def new_book(client: TestClient, w: World, sessions: sessionmaker[Session], bin_: str = EMPLOYER_BIN) -> int:
    with sessions() as s:
        iin = s.get(Person, add_person(sessions, sex="female")).iin  # type: ignore[union-attr]
    r = client.post(f"{API}/books", headers=w.h["rt_a"], json=book_body(w, iin=iin, employer_bin=bin_))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def decide(
    client: TestClient, w: World, book_id: int, decision: str, on: dt.date | None = None, *, signed: bool = True
) -> None:
    body = {"decision": decision, **({"performed_on": on.isoformat()} if on else {})}
    r = client.post(f"{API}/books/{book_id}/clearance", headers=w.h["rt_a"], json=body)
    assert r.status_code == 201, r.text
    if signed:
        sign_entries(client, w, int(r.json()["id"]))


def many_books(
    client: TestClient, w: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> dict[str, int]:
    books = {
        name: new_book(client, w, sessions)
        for name in (
            "none",
            "granted",
            "suspended_after_grant",
            "refused",
            "old_scope",
            "backdated",
            "infected",
            "awaiting",
            "regrant_awaiting",
        )
    }
    books["other_bin"] = new_book(client, w, sessions, OTHER_BIN)
    for name in ("granted", "suspended_after_grant", "backdated", "infected", "other_bin"):
        clean_scope(client, w, books[name])
        decide(client, w, books[name], "granted")
    clean_scope(client, w, books["old_scope"], on=dt.date(2025, 4, 1))  # due 1 April 2026: a short clearance
    decide(client, w, books["old_scope"], "granted")
    decide(client, w, books["suspended_after_grant"], "suspended")
    decide(client, w, books["refused"], "refused")
    # A decision recorded later but dated earlier is not the one in force: the latest by date is.
    decide(client, w, books["backdated"], "refused", on=dt.date(2026, 3, 5))
    assert record(client, w, books["infected"], "lab_result", "intestinal_carriage", "positive").status_code == 201
    # An unsigned grant counts for nothing (C-06, C-40): none before it, the earlier grant with its dates after one.
    clean_scope(client, w, books["awaiting"])
    decide(client, w, books["awaiting"], "granted", signed=False)
    clean_scope(client, w, books["regrant_awaiting"], on=dt.date(2025, 4, 1))
    decide(client, w, books["regrant_awaiting"], "granted")
    clean_scope(client, w, books["regrant_awaiting"])
    decide(client, w, books["regrant_awaiting"], "granted", signed=False)
    return books


def test_set_based_standing_equals_the_per_book_choice(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    books = many_books(client, world, sessions, at)
    for day in (NOW.date(), dt.date(2026, 3, 31), dt.date(2026, 4, 1), dt.date(2027, 3, 1), dt.date(2027, 3, 2)):
        with sessions() as s:
            every = select(MedicalBook.id)
            fast = standings(s, every, day)
            assert set(fast) == set(books.values())
            for book in s.scalars(select(MedicalBook)):
                slow = clearance_of(s, book, day)
                assert (fast[book.id].status, fast[book.id].decided_on, fast[book.id].valid_until) == (
                    slow.status,
                    slow.decided_on,
                    slow.valid_until,
                ), (day, book.id)
            for days in (1, 30, 365):
                slow_expiring = sorted(
                    b.id
                    for b in s.scalars(select(MedicalBook))
                    if (c := clearance_of(s, b, day)).status is ClearanceStatus.GRANTED
                    and expires_within(c.valid_until, day, days)
                )
                assert sorted(x.book_id for x in expiring(s, today=day, within_days=days)) == slow_expiring
    with sessions() as s:
        today = standings(s, select(MedicalBook.id), NOW.date())
        assert {name: today[i].status.value for name, i in books.items()} == {
            "none": "none",
            "granted": "granted",
            "suspended_after_grant": "suspended",
            "refused": "refused",
            "old_scope": "granted",
            "backdated": "granted",
            "infected": "suspended",
            "other_bin": "granted",
            "awaiting": "none",
            "regrant_awaiting": "granted",
        }
        assert today[books["old_scope"]].valid_until == dt.date(2026, 4, 1)
        assert today[books["regrant_awaiting"]].valid_until == dt.date(2026, 4, 1)  # the signed one's date
        mine = standings(s, books_of_employer(EMPLOYER_BIN), NOW.date())
        assert books["other_bin"] not in mine and len(mine) == len(books) - 1
        assert [x.book_id for x in expiring(s, today=NOW.date(), within_days=30)] == sorted(
            [books["old_scope"], books["regrant_awaiting"]]
        )


def test_the_employer_view_and_reminders_read_the_set_based_standing(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    from tests.builders.medbook import link_employers

    link_employers(client, world)
    books = many_books(client, world, sessions, at)
    workers = client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()
    assert {w["book_id"]: w["status"] for w in workers} == {
        i: s
        for i, s in zip(
            books.values(),
            (
                "none",
                "granted",
                "suspended",
                "refused",
                "granted",
                "granted",
                "suspended",
                "none",
                "granted",
                "granted",
            ),
            strict=True,
        )
        if i != books["other_bin"]
    }
    soon = client.get(f"{API}/reminders?within_days=30", headers=world.h["rt_a"]).json()
    assert [(r["book_id"], r["valid_until"], r["days_left"]) for r in soon] == [
        (books["old_scope"], "2026-04-01", 22),
        (books["regrant_awaiting"], "2026-04-01", 22),
    ]
