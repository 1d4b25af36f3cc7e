"""GET /api/v1/medbook/books/{id} in three statements (issue 18): the same answer, byte for byte, as the book's view
built from the ORM objects (the code it replaced, kept here as the reference), and as FastAPI's own response_model
serialization; the same refusals; the read logged; at most three statements read the book."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.audit.readlog import take
from emhana.facilities.models import Entity
from emhana.identity.models import Person, PersonAddress
from emhana.kernel.db import unit_of_work
from emhana.kernel.errors import GroupNotFound, NotFound
from emhana.kernel.fastsql import Fast
from emhana.medbook import catalogue, employment, infections, views
from emhana.medbook.models import DecreedGroup, Examination, JournalEntry, MedicalBook
from emhana.medbook.referral import standing_of
from emhana.medbook.schemas import BookOut, OwnerOut, employer_kind
from emhana.medbook.service import SIGNED
from tests.builders.medbook import TODAY, World, clean_scope, issue_book, record

API = "/api/v1/medbook"


def orm_book_out(session: Session, book: MedicalBook, today: dt.date) -> BookOut:
    """The book's view as it was built before issue 18: from ORM objects, one query for each part."""
    person = session.get(Person, book.person_id)
    entity = session.get(Entity, book.entity_id)
    if person is None or entity is None:
        raise NotFound()
    lang = book.language
    try:
        group = catalogue.in_force(session=session, code=book.group_code, day=today)
    except GroupNotFound:
        group = catalogue.versions(session=session, code=book.group_code)[-1]
    entries = list(
        session.scalars(select(JournalEntry).where(JournalEntry.book_id == book.id).order_by(JournalEntry.id))
    )
    by_id = {e.id: e for e in entries}
    superseded_by = {
        e.supersedes_id: e.id for e in entries if e.supersedes_id is not None and e.signature_state == SIGNED
    }
    pending = {e.id for e in entries if e.supersedes_id is not None and e.signature_state != SIGNED}
    superseded_by.update(dict.fromkeys(pending, 0))
    retracted = views._withdrawn(entries)
    names = catalogue.item_names()
    rules = infections.rules_on(session=session, day=today) if any(e.clinical_status for e in entries) else []
    referrals = standing_of(session=session, entries=entries)
    home = next(
        (a for a in person.addresses if a.kind == "permanent"), person.addresses[0] if person.addresses else None
    )
    return BookOut(
        id=book.id,
        language=book.language,
        owner=OwnerOut(
            person_id=person.id,
            iin=person.iin,
            surname=person.surname,
            given_name=person.given_name,
            patronymic=person.patronymic,
            birth_date=person.birth_date,
            address=(home.text_kk if lang == "kk" else home.text_ru) or home.kato_code if home else None,
        ),
        profession=book.profession,
        position=book.position,
        workplace=book.workplace,
        employer_bin=book.employer_bin,
        employer_kind=employer_kind(book.employer_bin),
        group_code=book.group_code,
        group_name=group.name_kk if lang == "kk" else group.name_ru,
        group_verified=group.verified,
        entity_id=entity.id,
        entity_name=entity.name_kk if lang == "kk" else entity.name_ru,
        issued_on=book.issued_on,
        clearance=views._clearance(views._in_force(entries, retracted), today),
        entries=[
            views.entry_out(
                e,
                by_id=by_id,
                superseded_by=superseded_by,
                names=names,
                lang=lang,
                referrals=referrals,
                rules=rules,
                retracted_by=retracted,
            )
            for e in entries
        ],
        employments=employment.employments_out(session, book, today),
    )


def reference_bytes(app: FastAPI, sessions: sessionmaker[Session], book_id: int) -> bytes:
    """The body FastAPI itself makes of the reference view for a ``response_model=BookOut`` route."""
    with sessions() as s:
        book = s.get(MedicalBook, book_id)
        assert book is not None
        out = orm_book_out(s, book, TODAY)
    probe = FastAPI()

    @probe.get("/book", response_model=BookOut)
    def _book() -> BookOut:
        return out

    with TestClient(probe) as c:
        return c.get("/book").content


def add_second_job(client: TestClient, w: World, book_id: int) -> None:
    job = {
        "profession": "кондитер",
        "position": "кондитер",
        "workplace": "Кафе",
        "employer_number": "990140004654",
        "group_code": "catering",
        "valid_from": "2026-03-05",
        "second": True,
    }
    r = client.post(f"{API}/books/{book_id}/jobs", headers=w.h["rt_a"], json=job)
    assert r.status_code == 201, r.text


def a_full_book(client: TestClient, w: World, sessions: sessionmaker[Session]) -> int:
    """The cook's book with the clean scope, a positive test (a suspension and a referral), a correction, a job
    change, and two addresses, the permanent one after the temporary one."""
    book_id = int(issue_book(client, w)["id"])
    clean_scope(client, w, book_id, skip=("intestinal_carriage",))
    assert record(client, w, book_id, "lab_result", "intestinal_carriage", "positive").status_code == 201
    first = client.get(f"{API}/books/{book_id}", headers=w.h["rt_a"]).json()["entries"][0]["id"]
    fix = {"kind": "specialist_exam", "item_code": "therapist", "performed_on": "2026-03-03", "result": "normal"}
    r = client.post(f"{API}/entries/{first}/correction", headers=w.h["clin_a"], json={**fix, "reason": "дата"})
    assert r.status_code == 201, r.text
    add_second_job(client, w, book_id)
    with sessions.begin() as s:
        s.execute(update(PersonAddress).where(PersonAddress.person_id == w.cook).values(kind="temporary"))
        s.add(
            PersonAddress(
                person_id=w.cook,
                kind="permanent",
                text_ru="Астана, ул. Кенесары, 1",
                text_kk="Астана, Кенесары к-сі, 1",
                kato_code="710000000",
                kato_version="NK RK 11-2025",
            )
        )
    return book_id


def test_the_book_reads_byte_for_byte_as_before_in_both_languages_and_for_every_reader(
    app: FastAPI, client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = a_full_book(client, world, sessions)
    for language in ("ru", "kk"):
        with sessions.begin() as s:
            s.execute(update(MedicalBook).where(MedicalBook.id == book_id).values(language=language))
        expected = reference_bytes(app, sessions, book_id)
        for who in ("rt_a", "clin_a", "cook"):
            r = client.get(f"{API}/books/{book_id}", headers=world.h[who], params={"purpose": "examination"})
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/json"
            assert r.content == expected, who
    body = client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"]).json()
    assert body["owner"]["address"] == "Астана, Кенесары к-сі, 1"  # the permanent address, though added later
    assert len(body["employments"]) == 2 and any(e["kind"] == "referral" for e in body["entries"])


def test_a_group_no_longer_in_force_is_named_by_its_newest_version_and_an_unknown_one_refused_as_before(
    app: FastAPI, client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    with sessions.begin() as s:
        s.execute(update(DecreedGroup).where(DecreedGroup.code == "catering").values(effective_to=dt.date(2026, 1, 1)))
    r = client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"])
    assert r.status_code == 200, r.text
    assert r.content == reference_bytes(app, sessions, book_id)
    with sessions.begin() as s:
        s.execute(update(MedicalBook).where(MedicalBook.id == book_id).values(group_code="no-such-group"))
    before = len(reads_of(sessions, book_id))
    r = client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"])
    assert r.status_code == 404 and r.json()["code"] == GroupNotFound.code, r.text
    assert len(reads_of(sessions, book_id)) == before  # a failed read logs nothing


def reads_of(sessions: sessionmaker[Session], book_id: int) -> list[tuple[int | None, str]]:
    with sessions() as s:
        return [
            (a, p)
            for a, p in s.execute(
                select(AuditEvent.account_id, AuditEvent.purpose)
                .where(AuditEvent.object_id == str(book_id), AuditEvent.action == views.READ_ACTION)
                .order_by(AuditEvent.id)
            )
        ]


def test_refusals_and_the_purposes_logged_are_those_of_read_book(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    missing = client.get(f"{API}/books/987654", headers=world.h["clin_b"])
    stranger = client.get(f"{API}/books/{book_id}", headers=world.h["clin_b"])
    assert missing.status_code == stranger.status_code == 403  # no existence oracle
    assert missing.json()["code"] == stranger.json()["code"]
    # clinic B examines the worker now: it reads without a purpose, logged with its examination's
    body = {"kind": "periodic", "purpose": "periodic examination", "iin": world.cook_iin}
    assert client.post(f"{API}/books/lookup", headers=world.h["clin_b"], json={**body, "purpose": "medbook: hiring"})
    r = client.post(f"{API}/books/{book_id}/examinations", headers=world.h["clin_b"], json=body)
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/books/{book_id}", headers=world.h["clin_b"]).status_code == 200
    with sessions() as s:
        opened = s.scalar(select(Examination.purpose).where(Examination.book_id == book_id))
    assert opened == "medbook: periodic examination"
    assert reads_of(sessions, book_id)[-1] == (world.actors["clin_b"].account_id, opened)
    assert client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"], params={"purpose": "x"}).status_code == 200
    assert reads_of(sessions, book_id)[-1] == (world.actors["rt_a"].account_id, "x")  # the issuer: as given


@contextmanager
def selects(session: Session) -> Iterator[list[str]]:
    """Collect the SELECTs the session's engine runs (SQLite), or count those sent on the driver (``Fast``)."""
    seen: list[str] = []
    engine = session.get_bind()

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sent = Fast.sent
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
        seen.extend(["(sent on the driver)"] * (Fast.sent - sent))


def test_at_most_three_statements_read_a_book_and_its_read_is_logged(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])  # no referral nor diagnosis: nothing more to name
    clean_scope(client, world, book_id)
    add_second_job(client, world, book_id)
    with unit_of_work(sessions, read_only=True) as s:
        with selects(s) as seen:
            out = views.read_book_out(
                session=s,
                actor=world.actors["rt_a"],
                book_id=book_id,
                purpose="",
                now=dt.datetime.combine(TODAY, dt.time(10), dt.UTC),
                today=TODAY,
            )
        _, rows = take(s)
    assert len(seen) <= 3, seen  # the ORM view took eight
    assert out.id == book_id and len(out.employments) == 2
    assert [(r["action"], str(r["object_id"])) for r in rows] == [(views.READ_ACTION, str(book_id))]
