"""Hash chains: rows written through the application are linked; rows tampered with in SQL are named."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from emhana.attachment.enums import EndReason
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent, ChainHead, ChainLink
from emhana.audit.service import record_event
from emhana.trust.chain import links as chain
from tests.builders.chain import check, links, problems, rows, tamper
from tests.builders.medbook import World, journal


def test_rows_written_through_the_application_are_chained_and_verify_clean(
    client: TestClient, world: World, engine: Engine
) -> None:
    book, entries = journal(client, world)
    assert [(k, s, r) for k, s, r, _ in links(engine, "medbook")] == [
        (str(book), i + 1, e) for i, e in enumerate(entries)
    ]
    assert [(k, s, e) for k, s, _, e in links(engine, "attachment")] == [(str(world.cook), 1, "open")]
    audit = rows(engine, "SELECT count(*) FROM audit_event")[0][0]
    assert audit > 0 and len(list(links(engine, "audit"))) == audit
    report = check(engine)
    assert report.clean, report.findings
    chained = sum(rows(engine, f"SELECT count(*) FROM {k.table.name}")[0][0] for k in chain.KINDS.values())
    assert report.records == chained and report.links >= chained  # rows changed since have update links too
    assert {k for k, _, _, _ in links(engine, "book")} == {str(book)}


def test_a_changed_result_is_named(client: TestClient, world: World, engine: Engine) -> None:
    book, entries = journal(client, world)
    tamper(engine, "UPDATE medbook_entry SET result = 'pathology' WHERE id = :id", id=entries[1])
    assert problems(engine) == [("changed", "medbook_entry", entries[1], str(book))]


def test_a_deleted_entry_is_named(client: TestClient, world: World, engine: Engine) -> None:
    book, entries = journal(client, world)
    tamper(engine, "DELETE FROM medbook_entry WHERE id = :id", id=entries[2])
    assert problems(engine) == [("removed", "medbook_entry", entries[2], str(book))]


def test_an_entry_inserted_behind_the_application_is_named(client: TestClient, world: World, engine: Engine) -> None:
    book, entries = journal(client, world, 1)
    columns = (
        "book_id, kind, item_code, performed_on, result, result_text, codes, entity_id, author_name, "
        "source, recorded_at, canonical, signature_state"
    )
    tamper(
        engine,
        f"INSERT INTO medbook_entry ({columns}) SELECT {columns} FROM medbook_entry WHERE id = :id",
        id=entries[0],
    )
    forged = rows(engine, "SELECT max(id) FROM medbook_entry")[0][0]
    assert problems(engine) == [("unchained", "medbook_entry", forged, str(book))]


def test_swapped_positions_are_named(client: TestClient, world: World, engine: Engine) -> None:
    book, entries = journal(client, world)
    tamper(
        engine,
        "UPDATE chain_link SET seq = -1 WHERE kind = 'medbook' AND chain_key = :k AND seq = 1",
        "UPDATE chain_link SET seq = 1 WHERE kind = 'medbook' AND chain_key = :k AND seq = 2",
        "UPDATE chain_link SET seq = 2 WHERE kind = 'medbook' AND chain_key = :k AND seq = -1",
        k=str(book),
    )
    # every link after the swap point no longer follows the one before it (the third follows the old second)
    assert problems(engine) == [("reordered", "medbook_entry", e, str(book)) for e in entries]


def test_an_entry_moved_to_another_book_is_named(client: TestClient, world: World, engine: Engine) -> None:
    book, entries = journal(client, world, 2)
    tamper(engine, "UPDATE medbook_entry SET book_id = :b WHERE id = :id", b=book, id=entries[0])  # no-op
    assert problems(engine) == []
    person = _another_person(engine)
    with engine.begin() as conn:  # a second book to move into (written behind the application: unchained)
        conn.execute(
            text(
                "INSERT INTO medical_book (person_id, entity_id, issued_by, issued_on, language, "
                "profession, position, workplace, employer_bin, group_code) SELECT :p, entity_id, "
                "issued_by, issued_on, language, profession, position, workplace, employer_bin, "
                "group_code FROM medical_book WHERE id = :b"
            ),
            {"p": person, "b": book},
        )
        other = conn.execute(text("SELECT max(id) FROM medical_book")).scalar()
    tamper(engine, "UPDATE medbook_entry SET book_id = :o WHERE id = :id", o=other, id=entries[0])
    assert problems(engine) == [
        ("changed", "medbook_entry", entries[0], str(book)),
        ("moved", "medbook_entry", entries[0], str(book)),
        ("unchained", "medical_book", other, str(other)),
        ("unchained", "person", person, str(person)),
    ]


def _another_person(engine: Engine) -> int:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (iin, surname, given_name, birth_date, sex, category) "
                "SELECT '000000000000', surname, given_name, birth_date, sex, category FROM person "
                "WHERE id = (SELECT min(id) FROM person)"
            )
        )
        return int(conn.execute(text("SELECT max(id) FROM person")).scalar() or 0)


def test_an_edited_link_and_a_stale_head_are_named(client: TestClient, world: World, engine: Engine) -> None:
    book, entries = journal(client, world, 2)
    tamper(
        engine,
        "UPDATE chain_link SET record_hash = :h WHERE kind = 'medbook' AND record_id = :id",
        h="f" * 64,
        id=entries[0],
    )
    assert problems(engine) == [
        ("changed", "medbook_entry", entries[0], str(book)),
        ("link_altered", "medbook_entry", entries[0], str(book)),
    ]
    tamper(
        engine,
        "UPDATE chain_link SET record_hash = :h WHERE kind = 'medbook' AND record_id = :id",
        h=rows(engine, "SELECT prev_hash FROM chain_link WHERE kind = 'medbook' AND record_id = :id", id=entries[1])[0][
            0
        ],
        id=entries[0],
    )
    tamper(engine, "DELETE FROM chain_link WHERE kind = 'medbook' AND record_id = :id", id=entries[1])
    found = problems(engine)
    assert ("unchained", "medbook_entry", entries[1], str(book)) in found
    assert ("head_mismatch", "medbook_entry", None, str(book)) in found


def test_an_orm_end_is_chained_as_its_own_link_and_an_end_changed_in_sql_is_named(
    world: World, sessions: sessionmaker[Session], engine: Engine
) -> None:
    att = rows(engine, "SELECT id FROM attachment WHERE person_id = :p", p=world.cook)[0][0]
    with sessions.begin() as s:
        a = s.get(Attachment, att)
        assert a is not None
        a.end_date, a.end_reason = dt.date(2026, 3, 20), EndReason.EMIGRATION.value
    assert [e for _, _, _, e in links(engine, "attachment")] == ["open", "end"]
    assert problems(engine) == []
    # moving the end in SQL (say, to hide days of attachment) is caught...
    tamper(engine, "UPDATE attachment SET end_date = :d WHERE id = :id", d=dt.date(2026, 6, 1), id=att)
    assert problems(engine) == [("changed", "attachment", att, str(world.cook))]
    # ...while the application moving it again appends a second end link
    with sessions.begin() as s:
        a = s.get(Attachment, att)
        assert a is not None
        a.end_date, a.end_reason = dt.date(2026, 3, 15), EndReason.DEATH.value
    assert [e for _, _, _, e in links(engine, "attachment")] == ["open", "end", "end"]
    assert problems(engine) == []


def test_an_attachment_closed_or_reopened_in_sql_is_named(world: World, engine: Engine) -> None:
    att = rows(engine, "SELECT id FROM attachment WHERE person_id = :p", p=world.cook)[0][0]
    tamper(
        engine,
        "UPDATE attachment SET end_date = :d, end_reason = 'death' WHERE id = :id",
        d=dt.date(2026, 1, 1),
        id=att,
    )
    assert problems(engine) == [("changed", "attachment", att, str(world.cook))]
    tamper(engine, "UPDATE attachment SET end_date = NULL, end_reason = NULL, site_id = site_id WHERE id = :id", id=att)
    assert problems(engine) == []


def test_the_audit_log_and_the_links_refuse_update_and_delete(world: World, engine: Engine) -> None:
    for sql in (
        "UPDATE audit_event SET purpose = 'nothing to see'",
        "DELETE FROM audit_event",
        "UPDATE chain_link SET seq = seq + 1",
        "DELETE FROM chain_link",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_event CASCADE"))
    with engine.begin() as conn:  # appending still works
        conn.execute(insert(AuditEvent).values(at=dt.datetime.now(dt.UTC), action="x", object_type="t", object_id="1"))
    # a row inserted without its link is named, and a changed one too once the guard is dropped
    event = rows(engine, "SELECT max(id) FROM audit_event")[0][0]
    assert problems(engine) == [("unchained", "audit_event", event, "-")]
    first = rows(
        engine, "SELECT min(id), subject_person_id FROM audit_event GROUP BY subject_person_id ORDER BY min(id)"
    )[0]
    tamper(engine, "UPDATE audit_event SET purpose = 'rewritten' WHERE id = :id", id=first[0])
    assert ("changed", "audit_event", first[0], str(first[1]) if first[1] else "-") in problems(engine)


def test_core_writers_link_with_one_call(world: World, engine: Engine) -> None:
    """The hot attach path writes with Core: link_new_rows / link_changed_rows bring the chains up to date."""
    with engine.begin() as conn:
        old = conn.execute(select(Attachment).where(Attachment.person_id == world.cook)).one()
        conn.execute(
            update(Attachment)
            .where(Attachment.id == old.id)
            .values(end_date=dt.date(2026, 3, 31), end_reason="transfer")
        )
        new_id = conn.execute(
            insert(Attachment)
            .values(
                person_id=world.cook,
                entity_id=old.entity_id,
                site_id=old.site_id,
                district_id=old.district_id,
                place_basis="residence",
                cause="application",
                begin_date=dt.date(2026, 4, 1),
                decided_on=dt.date(2026, 3, 10),
            )
            .returning(Attachment.id)
        ).scalar_one()
        assert chain.link_changed_rows(conn, "attachment", [old.id]) == 1
        assert chain.link_new_rows(conn, "attachment", [new_id]) == 1
        assert chain.link_changed_rows(conn, "attachment", [old.id, new_id]) == 0  # idempotent
    assert [(r, e) for _, _, r, e in links(engine, "attachment")] == [
        (old.id, "open"),
        (old.id, "end"),
        (new_id, "open"),
    ]
    assert problems(engine) == []


def test_bulk_loads_are_sealed_once(world: World, engine: Engine) -> None:
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(
                insert(AuditEvent).values(
                    at=dt.datetime.now(dt.UTC),
                    action="bulk",
                    object_type="t",
                    object_id=str(i),
                    subject_person_id=world.cook,
                )
            )
    assert [p for p, *_ in problems(engine)] == ["unchained"] * 3
    with engine.begin() as conn:
        assert chain.seal_unlinked(conn) == 3
        assert chain.seal_unlinked(conn) == 0
    assert problems(engine) == []


def test_a_rolled_back_transaction_leaves_no_link(
    world: World, sessions: sessionmaker[Session], engine: Engine
) -> None:
    before = rows(engine, "SELECT count(*) FROM chain_link")[0][0]
    with pytest.raises(RuntimeError), sessions.begin() as s:
        record_event(session=s, actor=None, action="x", object_type="t", object_id="1")
        s.flush()
        raise RuntimeError
    with sessions.begin() as s:  # a savepoint rolled back inside a committed transaction
        record_event(session=s, actor=None, action="kept", object_type="t", object_id="1")
        s.flush()
        nested = s.begin_nested()
        record_event(session=s, actor=None, action="dropped", object_type="t", object_id="2")
        s.flush()
        nested.rollback()
    assert rows(engine, "SELECT count(*) FROM chain_link")[0][0] == before + 1
    assert problems(engine) == []
    with sessions() as s:
        assert s.scalar(select(ChainHead.seq).where(ChainHead.kind == "audit", ChainHead.chain_key == "-")) == s.scalar(
            select(ChainLink.seq)
            .where(ChainLink.kind == "audit", ChainLink.chain_key == "-")
            .order_by(ChainLink.seq.desc())
            .limit(1)
        )
