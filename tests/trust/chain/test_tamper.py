"""The tampering that `audit verify` used to call clean (issue 14): each case now gives a finding.

A tail cut (newest entries deleted with their links, the head moved back) leaves a consistent chain; a signed
checkpoint taken before names it. Ownership and decision rows (a book's owner and employer, an application's
decision, a representation, a person's identity, an account's role) are chained: a change in SQL is named,
while the same change written through the application appends an ``update`` link and verifies clean."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.models import Application
from emhana.identity.models import LegalRepresentation, Person
from emhana.medbook.models import BOOK_CHAIN, MedicalBook
from emhana.trust.chain import checkpoint as cp
from emhana.trust.chain.links import GENESIS, OPEN, TamperedRow, link_hash, read_rows, record_hash, seal_unlinked
from emhana.trust.chain.verify import Finding, verify
from tests.builders.attachment import Country
from tests.builders.chain import cut_tail, links, problems, rows, tamper
from tests.builders.medbook import World, granted_book, journal, record
from tests.builders.people import represent

KEY = ec.generate_private_key(ec.SECP256R1())


def found(engine: Engine, *checkpoints: cp.Checkpoint) -> list[Finding]:
    with engine.connect() as conn:
        return verify(conn, checkpoints=checkpoints).findings


def pinned(engine: Engine) -> cp.Checkpoint:
    """A checkpoint taken now, read back as `audit verify` reads it (signature checked)."""
    taken = cp.take(engine, KEY)
    return cp.read(taken.document, KEY.public_key(), taken.id)


def test_a_cut_tail_of_a_book_is_behind_the_checkpoint(client: TestClient, world: World, engine: Engine) -> None:
    book = int(granted_book(client, world)["id"])
    positive = record(client, world, book, "lab_result", "syphilis", "positive", dt.date(2026, 3, 9))
    assert positive.status_code == 201, positive.text
    kinds = [r[0] for r in rows(engine, "SELECT kind FROM medbook_entry WHERE book_id = :b ORDER BY id", b=book)]
    assert kinds[-3:] == ["lab_result", "clearance", "referral"]  # the result, its suspension and referral (C-30)
    checkpoint = pinned(engine)
    assert found(engine, checkpoint) == []
    cut_tail(engine, "medbook", str(book), "medbook_entry", 3)
    status = client.get(f"/api/v1/medbook/books/{book}", headers=world.h["rt_a"]).json()
    assert "suspended" not in str(status)  # the book reads cleared again...
    assert problems(engine) == []  # ...and the chains alone cannot tell
    [cut] = found(engine, checkpoint)
    assert (cut.problem, cut.kind, cut.table) == ("behind_checkpoint", "medbook", "medbook_entry")
    assert str(book) in cut.chain_key.split(",")


def test_a_persons_newest_audit_event_removed_is_behind_the_checkpoint(
    client: TestClient, world: World, engine: Engine
) -> None:
    journal(client, world, 1)
    checkpoint = pinned(engine)
    assert len(list(links(engine, "audit"))) > 1
    newest = rows(engine, "SELECT max(id) FROM audit_event WHERE subject_person_id = :p", p=world.cook)[0][0]
    assert newest is not None
    cut_tail(engine, "audit", str(world.cook), "audit_event", 1)
    assert rows(engine, "SELECT count(*) FROM audit_event WHERE id = :i", i=newest)[0][0] == 0
    assert problems(engine) == []
    [cut] = found(engine, checkpoint)
    assert cut.problem == "behind_checkpoint" and str(world.cook) in cut.chain_key.split(",")


def test_a_chain_rebuilt_after_the_checkpoint_is_named(client: TestClient, world: World, engine: Engine) -> None:
    book, _ = journal(client, world, 1)
    checkpoint = pinned(engine)
    # the employer changed in SQL and the book's chain rebuilt from scratch: consistent again, with new links
    tamper(
        engine,
        "UPDATE medical_book SET employer_bin = '990140004654' WHERE id = :b",
        "DELETE FROM chain_link WHERE kind = 'book' AND chain_key = :k",
        "DELETE FROM chain_head WHERE kind = 'book' AND chain_key = :k",
        b=book,
        k=str(book),
    )
    with engine.begin() as conn:
        assert seal_unlinked(conn, "book") == 1
    assert problems(engine) == []
    [rebuilt] = found(engine, checkpoint)  # as of the checkpoint, the book's chain has lost its links
    assert rebuilt.problem == "behind_checkpoint" and str(book) in rebuilt.chain_key.split(",")


def test_links_rewritten_in_place_after_the_checkpoint_are_named(
    client: TestClient, world: World, engine: Engine
) -> None:
    book, _ = journal(client, world, 1)
    checkpoint = pinned(engine)
    # the employer changed in SQL and the book's one link rehashed in place (same id, same position)
    tamper(engine, "UPDATE medical_book SET employer_bin = '990140004654' WHERE id = :b", b=book)
    with engine.connect() as conn:
        row = read_rows(conn, BOOK_CHAIN, [book])[0]
    rec = record_hash(BOOK_CHAIN, row, OPEN)
    lh = link_hash(kind="book", key=str(book), record_id=book, event_=OPEN, rec_hash=rec, prev_hash=GENESIS)
    tamper(
        engine,
        "UPDATE chain_link SET record_hash = :r, link_hash = :h WHERE kind = 'book' AND chain_key = :k",
        "UPDATE chain_head SET head_hash = :h WHERE kind = 'book' AND chain_key = :k",
        r=rec,
        h=lh,
        k=str(book),
    )
    assert problems(engine) == []
    [rewritten] = found(engine, checkpoint)
    assert rewritten.problem == "rewritten_since_checkpoint" and str(book) in rewritten.chain_key.split(",")


def test_a_checkpoint_signed_by_another_key_is_refused(client: TestClient, world: World, engine: Engine) -> None:
    journal(client, world, 1)
    other = ec.generate_private_key(ec.SECP256R1())
    forged = cp.take(engine, other)
    with pytest.raises(ValueError, match="signature"):
        cp.read(forged.document, KEY.public_key())
    good = cp.read(forged.document, other.public_key())
    edited = good.document.replace(good.document.split('"payload": "')[1][:8], "eyJmb3Jt")
    with pytest.raises(ValueError):
        cp.read(edited, other.public_key())


@pytest.mark.parametrize(
    ("what", "sql"),
    [
        ("another owner", "UPDATE medical_book SET person_id = :other WHERE id = :b"),
        ("another employer", "UPDATE medical_book SET employer_bin = '990140004654' WHERE id = :b"),
        ("another group", "UPDATE medical_book SET group_code = 'childcare' WHERE id = :b"),
    ],
)
def test_a_book_given_another_owner_employer_or_group_in_sql_is_named(
    client: TestClient, world: World, engine: Engine, person: Callable[..., int], what: str, sql: str
) -> None:
    book, _ = journal(client, world, 1)
    other = person()
    assert problems(engine) == []
    tamper(engine, sql, b=book, other=other)
    assert problems(engine) == [("changed", "medical_book", book, str(book))], what


def test_a_book_changed_through_the_application_gets_an_update_link(
    client: TestClient, world: World, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    book, _ = journal(client, world, 1)
    with sessions.begin() as s:
        row = s.get(MedicalBook, book)
        assert row is not None
        row.employer_bin, row.workplace = "990140004654", "Кафе «Жібек жолы»"
    assert [e for _, _, _, e in links(engine, "book")] == ["open", "update"]
    assert problems(engine) == []


def test_an_application_decision_flipped_in_sql_is_named(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    engine: Engine,
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    resp = client.post(
        "/api/v1/attachment/applications",
        headers=auth(Role.CITIZEN, person_id=pid),
        json={"person_id": pid, "district_id": country.districts[("A1", 1)]},
    )
    assert resp.status_code == 201 and resp.json()["state"] == "approved", resp.text
    app = int(resp.json()["id"])
    assert [(k, e) for k, _, _, e in links(engine, "application")] == [(str(pid), "open")]
    assert problems(engine) == []
    with sessions.begin() as s:  # the application writing a change appends a link
        row = s.get(Application, app)
        assert row is not None
        row.review, row.version = "checked", row.version + 1
    assert [e for _, _, _, e in links(engine, "application")] == ["open", "update"]
    assert problems(engine) == []
    tamper(engine, "UPDATE attachment_application SET state = 'refused', reason_code = 'x' WHERE id = :a", a=app)
    assert problems(engine) == [("changed", "attachment_application", app, str(pid))]
    with pytest.raises(TamperedRow), sessions.begin() as s:  # never linked over the flipped decision
        row = s.get(Application, app)
        assert row is not None
        row.version += 1
    assert problems(engine) == [("changed", "attachment_application", app, str(pid))]


def test_a_representation_added_or_ended_in_sql_is_named(
    engine: Engine, sessions: sessionmaker[Session], person: Callable[..., int]
) -> None:
    parent, child, stranger = person(), person(born=dt.date(2016, 4, 1)), person()
    represent(sessions, parent, child)
    assert problems(engine) == []
    tamper(
        engine,
        "INSERT INTO legal_representation (representative_id, represented_id, basis, document_kind, "
        "document_number, basis_document, valid_from) SELECT :s, represented_id, basis, document_kind, "
        "document_number, basis_document, valid_from FROM legal_representation WHERE represented_id = :c",
        s=stranger,
        c=child,
    )
    forged = rows(engine, "SELECT id FROM legal_representation WHERE representative_id = :s", s=stranger)[0][0]
    assert problems(engine) == [("unchained", "legal_representation", forged, str(child))]
    real = rows(engine, "SELECT id FROM legal_representation WHERE representative_id = :p", p=parent)[0][0]
    tamper(engine, "UPDATE legal_representation SET valid_to = '2020-01-01' WHERE id = :r", r=real)
    assert ("changed", "legal_representation", real, str(child)) in problems(engine)
    with pytest.raises(TamperedRow), sessions.begin() as s:
        row = s.get(LegalRepresentation, real)
        assert row is not None
        row.valid_to = dt.date(2020, 1, 2)  # the application never links over the change made in SQL
    assert ("changed", "legal_representation", real, str(child)) in problems(engine)


def test_a_representation_ended_through_the_application_verifies_clean(
    engine: Engine, sessions: sessionmaker[Session], person: Callable[..., int]
) -> None:
    parent, child = person(), person(born=dt.date(2016, 4, 1))
    represent(sessions, parent, child)
    with sessions.begin() as s:
        row = s.scalar(select(LegalRepresentation).where(LegalRepresentation.represented_id == child))
        assert row is not None
        row.valid_to = dt.date(2026, 1, 1)
    assert [(k, e) for k, _, _, e in links(engine, "representation")] == [(str(child), "open"), (str(child), "update")]
    assert problems(engine) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("iin", "880315300999"), ("surname", "Басқа"), ("birth_date", "1970-01-01"), ("sex", "female")],
)
def test_identity_fields_changed_in_sql_are_named(
    engine: Engine, sessions: sessionmaker[Session], person: Callable[..., int], field: str, value: str
) -> None:
    pid = person()
    tamper(engine, f"UPDATE person SET {field} = :v WHERE id = :p", v=value, p=pid)
    assert problems(engine) == [("changed", "person", pid, str(pid))]
    # the application changing the row next refuses to link over the change made behind its back
    with pytest.raises(TamperedRow, match="person id="), sessions.begin() as s:
        row = s.get(Person, pid)
        assert row is not None
        row.patronymic = "Тестович"
    assert problems(engine) == [("changed", "person", pid, str(pid))]
    assert rows(engine, "SELECT patronymic FROM person WHERE id = :p", p=pid)[0][0] is None


def test_a_person_changed_through_the_application_gets_an_update_link(
    engine: Engine, sessions: sessionmaker[Session], person: Callable[..., int]
) -> None:
    pid = person()
    with sessions.begin() as s:
        row = s.get(Person, pid)
        assert row is not None
        row.surname, row.patronymic = "Сейтқали", "Тестович"
    assert [e for k, _, _, e in links(engine, "person") if k == str(pid)] == ["open", "update"]
    assert problems(engine) == []


@pytest.mark.parametrize(
    ("sql", "field"),
    [
        ("UPDATE account SET role = 'fund_admin' WHERE id = :a", "role"),
        ("UPDATE account SET entity_id = NULL WHERE id = :a", "organization"),
        ("UPDATE account SET active = :no WHERE id = :a", "state"),
    ],
)
def test_an_account_role_organization_or_state_changed_in_sql_is_named(
    engine: Engine,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    seeded_entity: int,
    sql: str,
    field: str,
) -> None:
    actor, _ = make_actor(Role.REGISTRAR, entity_id=seeded_entity)
    assert problems(engine) == []
    tamper(engine, sql, a=actor.account_id, no=False)
    assert ("changed", "account", actor.account_id, str(actor.account_id)) in problems(engine), field


def test_an_account_changed_through_the_application_verifies_clean(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], seeded_entity: int
) -> None:
    actor, _ = make_actor(Role.REGISTRAR, entity_id=seeded_entity)
    with sessions.begin() as s:
        row = s.scalar(select(Account).where(Account.id == actor.account_id))
        assert row is not None
        row.active = False
    mine = [e for k, _, _, e in links(engine, "account") if k == str(actor.account_id)]
    assert mine == ["open", "update"]
    assert problems(engine) == []
