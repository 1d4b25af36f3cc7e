"""The bulk load (one transaction, indexes and foreign keys built at its end) and the chain links it formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from emhana import models  # noqa: F401  (registers every chained table)
from emhana.devtools.generator import generate, sink
from emhana.devtools.generator.attach import ATTACHMENT_COLUMNS, Attacher, AttachmentRow
from emhana.devtools.generator.people import AddressRow, PersonFactory, PersonRow
from emhana.kernel import clock
from emhana.reference.loader import KATO_VERSION
from emhana.testing.databases import migrated_schema, postgres_test_url
from emhana.trust.chain.bulk import HEAD_COLUMNS, LINK_COLUMNS
from emhana.trust.chain.verify import verify

AT = dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
PERSONS: list[PersonRow] = [
    (7, "900131300017", 'Қ"у\\ат', "Әсел", None, "1990-01-31", "female", "citizen"),
    (8, "850220400016", "O'Neil", "Иван", "Иванович", "1985-02-20", "male", "foreigner"),
]
ATTACHMENTS: list[AttachmentRow] = [
    (3, 7, 11, 12, 13, 14, "residence_permanent", "first_attachment", "2020-05-01", None, None, "2026-12-31", None,
     "2020-04-30", None),
    (4, 8, 11, 12, 15, None, "residence_permanent", "first_attachment", "2019-01-02", None, None, None, None,
     "2019-01-01", None),
]  # fmt: skip


# Rows whose COPY text holds nothing JSON escapes (chain_text's own path): NULL in every nullable hashed field
# and not, names in two alphabets.
BARE_PERSONS: list[PersonRow] = [
    (101, "900131300017", "Қасымов", "Әсел", None, "1990-01-31", "female", "citizen"),
    (102, "850220400016", "O'Neil", "Иван", "Иванович", "1985-02-20", "male", "foreigner"),
    (103, "120505500011", "Ли", "Ким", "", "2012-05-05", "male", "kandas"),
]
BARE_ATTACHMENTS: list[AttachmentRow] = [
    (31, 101, 11, 12, 13, 14, "residence_permanent", "first_attachment", "2020-05-01", None, None, "2026-12-31", None,
     "2020-04-30", None),
    (32, 102, 11, 12, 15, None, "residence_permanent", "first_attachment", "2019-01-02", None, None, None, None,
     "2019-01-01", None),
    (33, 103, 21, 22, 23, 24, "residence_permanent", "first_attachment", "2019-01-02", None, None, None, None,
     "2019-01-01", None),
]  # fmt: skip


def test_chain_lines_are_the_links_and_heads_of_chain_rows() -> None:
    chains = sink.chain_rows(PERSONS, ATTACHMENTS, AT)
    assert sink.chain_lines(PERSONS, ATTACHMENTS, AT) == (sink.link_lines(chains), sink.head_lines(chains))


def _texts(persons: list[PersonRow], attachments: list[AttachmentRow], person_fields: bool) -> tuple[bytes, bytes]:
    """The persons and attachments of a bulk load's batch (``bulk_texts``: the attachments in the bulk layout)."""
    texts = sink.bulk_texts(persons, [], [], attachments, person_fields)
    return texts[0], texts[3]


def _bulk(links_and_heads: tuple[str, str]) -> tuple[bytes, bytes]:
    """``chain_lines``'s text in the bulk layouts."""
    links, heads = links_and_heads
    return sink.bulk_links(links).encode(), sink.bulk_heads(heads).encode()


@pytest.mark.parametrize("person_fields", [False, True])
def test_chain_text_hashes_the_copy_text_as_chain_lines_hashes_the_rows(
    person_fields: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _bulk(sink.chain_lines(BARE_PERSONS, BARE_ATTACHMENTS, AT))
    only_persons = _bulk(sink.chain_lines(BARE_PERSONS, [], AT))
    persons, attachments = _texts(BARE_PERSONS, BARE_ATTACHMENTS, person_fields)
    monkeypatch.setattr(sink, "chain_lines", None)  # the text's own path, not the rows'
    assert sink.chain_text(persons, attachments, AT) == expected
    assert sink.chain_text(persons, b"", AT) == only_persons


def test_the_bulk_layouts_leave_out_the_fixed_columns_of_the_full_ones() -> None:
    links, heads = sink.chain_lines(BARE_PERSONS, BARE_ATTACHMENTS, AT)
    fixed = sink.bulk_fixed(AT)
    for full, bulk, columns, table in (
        (links, sink.bulk_links(links), LINK_COLUMNS, "chain_link"),
        (heads, sink.bulk_heads(heads), HEAD_COLUMNS, "chain_head"),
    ):
        for full_line, bulk_line in zip(full.splitlines(), bulk.splitlines(), strict=True):
            values = dict(zip(columns, full_line.split("\t"), strict=True))
            kept = [c for c in columns if c not in fixed[table]]
            assert bulk_line.split("\t") == [values[c] for c in kept]
            assert {c: values[c] for c in fixed[table]} == {
                c: (v if c != "linked_at" else AT.isoformat()) for c, v in fixed[table].items()
            }
    assert [c for c in LINK_COLUMNS if c not in fixed["chain_link"]] == list(sink.BULK_LINK_COLUMNS)
    assert [c for c in HEAD_COLUMNS if c not in fixed["chain_head"]] == list(sink.BULK_HEAD_COLUMNS)
    stored = (*ATTACHMENT_COLUMNS, "created_at")
    assert [c for c in stored if c not in fixed["attachment"]] == list(sink.BULK_ATTACHMENT_COLUMNS)


@pytest.mark.parametrize(
    "surname",
    ['Қ"у\\ат', "back\\slash", "tab\x01", "\\N", "a\\Nb"],
    ids=["quote", "backslash", "control", "null", "inner-null"],
)
def test_chain_text_hashes_a_batch_json_would_escape_through_its_rows(surname: str) -> None:
    persons = [*BARE_PERSONS, (104, "900131300025", surname, "Әсел", None, "1990-01-31", "female", "citizen")]
    expected = _bulk(sink.chain_lines(persons, BARE_ATTACHMENTS, AT))
    assert sink.chain_text(*_texts(persons, BARE_ATTACHMENTS, True), AT) == expected


def test_the_lines_parse_back_to_their_rows() -> None:
    assert sink.parse_persons(sink.person_lines(BARE_PERSONS)) == BARE_PERSONS
    for person_fields in (False, True):
        assert sink.parse_attachments(_texts(BARE_PERSONS, BARE_ATTACHMENTS, person_fields)[1].decode()) == (
            BARE_ATTACHMENTS
        )


def test_the_bulk_layouts_refuse_a_row_that_differs_from_the_fixed_values() -> None:
    transfer = (*BARE_ATTACHMENTS[0][:7], "voluntary_change", *BARE_ATTACHMENTS[0][8:])
    with pytest.raises(ValueError, match="first attachment"):
        sink.bulk_texts(BARE_PERSONS, [], [], [transfer], False)
    address: AddressRow = (5, 101, "temporary", "Ақсу, 2-үй", "Аксу, д. 2", "556010000", KATO_VERSION, 52.0, 76.1,
                           "2019-01-01", None)  # fmt: skip
    with pytest.raises(ValueError, match="permanent address"):
        sink.bulk_texts(BARE_PERSONS, [address], [], [], False)
    with pytest.raises(ValueError, match="mobile"):
        sink.bulk_texts(BARE_PERSONS, [], [(1, 101, "+77011234567", "home")], [], False)


def test_chain_text_refuses_a_line_of_another_shape() -> None:
    persons, attachments = _texts(BARE_PERSONS, BARE_ATTACHMENTS, True)
    with pytest.raises(ValueError, match="fields"):
        sink.chain_text(persons, attachments.replace(b"\t2020-05-01", b"\t2020\t05-01", 1), AT)


# Everything that makes a schema: indexes, constraints (with their validity), triggers, columns.
SCHEMA = """
SELECT 'index ' || tablename || ' ' || replace(indexdef, schemaname || '.', '') FROM pg_indexes
 WHERE schemaname = current_schema()
UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || contype::text || ' '
 || pg_get_constraintdef(oid) || ' ' || condeferrable::text || convalidated::text
 FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
UNION ALL SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text
 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND NOT tgisinternal
UNION ALL SELECT 'column ' || table_name || ' ' || column_name || ' ' || data_type || ' '
 || coalesce(column_default, '') || ' ' || is_nullable FROM information_schema.columns
 WHERE table_schema = current_schema()
ORDER BY 1
"""
# The rows of the loaded tables, without what the database stamps with its own clock (created_at defaults).
CONTENT = {
    "person": "SELECT id, iin, surname, given_name, patronymic, birth_date, sex, category, death_date FROM person",
    "person_address": "SELECT * FROM person_address",
    "person_phone": "SELECT * FROM person_phone",
    "attachment": "SELECT * FROM attachment",
    "chain_link": "SELECT kind, chain_key, seq, record_id, event, record_hash, prev_hash, link_hash, linked_at "
    "FROM chain_link",
    "chain_head": "SELECT * FROM chain_head",
    "district_load": "SELECT * FROM district_load",
}


def schema_of(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        name = str(conn.scalar(text("SELECT current_schema()")))
        return [str(line).replace(name + ".", "") for line in conn.scalars(text(SCHEMA))]


def content_of(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        return {
            table: tuple(
                conn.execute(
                    text(f"SELECT COUNT(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM ({q}) x")
                ).one()
            )
            for table, q in CONTENT.items()
        }


@pytest.fixture
def second_pg_url() -> Any:
    base = postgres_test_url()
    if base is None:
        pytest.skip("PostgreSQL is not configured")
    with migrated_schema(base, "gen_bulk") as url:
        yield url


def test_a_bulk_load_stores_the_same_rows_and_leaves_the_migrated_schema(
    pg_url: str, second_pg_url: str, engine_of: Callable[[str], Engine]
) -> None:
    batched, bulk = engine_of(pg_url), engine_of(second_pg_url)
    migrated = schema_of(bulk)
    with clock.use(clock.Fixed(AT)):
        generate(batched, population=3_000, seed=5, batch=700)
        stats = generate(bulk, population=3_000, seed=5, batch=700, bulk=True)
    assert stats.persons == stats.attachments == 3_000
    assert schema_of(bulk) == migrated
    same = content_of(bulk)
    assert same == content_of(batched)
    assert same["chain_link"][0] == same["chain_head"][0] == 6_000
    with bulk.connect() as conn:
        report = verify(conn)
    assert report.clean and report.links >= 6_000, report.findings[:3]
    again = generate(bulk, population=500, seed=6, bulk=True)  # on a filled database: ids after the first load
    assert again.first_person_id == 3_001 and schema_of(bulk) == migrated


@pytest.mark.parametrize("where", ["generate", "attach"])
def test_a_forked_process_that_fails_fails_the_load_and_leaves_nothing(
    pg_url: str, engine_of: Callable[[str], Engine], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    engine = engine_of(pg_url)
    generate(engine, population=0, seed=5)  # the facility layer
    migrated = schema_of(engine)
    calls: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise ArithmeticError("a forked process broke")
        original(*args, **kwargs)

    owner: Any = PersonFactory if where == "generate" else Attacher
    name = "fill_lines" if where == "generate" else "attach_people"
    original = getattr(owner, name)
    monkeypatch.setattr(owner, name, failing)
    with pytest.raises(RuntimeError, match="ArithmeticError: a forked process broke"):
        generate(engine, population=2_000, seed=5, batch=500, bulk=True)
    assert schema_of(engine) == migrated
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM person")) == 0
        assert conn.scalar(text("SELECT COUNT(*) FROM chain_link WHERE kind IN ('person', 'attachment')")) == 0


@pytest.mark.parametrize("where", ["copy", "restore"])
def test_a_failed_bulk_load_leaves_nothing_and_the_schema_whole(
    pg_url: str, engine_of: Callable[[str], Engine], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    engine = engine_of(pg_url)
    generate(engine, population=0, seed=5)  # the facility layer
    migrated = schema_of(engine)
    sent: list[int] = []
    send = sink.PostgresCopySink.send

    def failing_send(self: sink.PostgresCopySink, batch: sink.Batch) -> None:
        sent.append(1)
        if len(sent) == 2:
            raise psycopg.OperationalError("the connection broke")
        send(self, batch)

    def failing_restore(conn: Any, statements: list[str], work_mem: str = "") -> None:
        conn.execute(statements[0])
        raise psycopg.OperationalError("the connection broke")

    if where == "copy":
        monkeypatch.setattr(sink.PostgresCopySink, "send", failing_send)
    else:
        monkeypatch.setattr(sink, "restore", failing_restore)
    with pytest.raises(psycopg.OperationalError):
        generate(engine, population=2_000, seed=5, batch=500, bulk=True)
    assert schema_of(engine) == migrated
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM person")) == 0
        assert conn.scalar(text("SELECT COUNT(*) FROM chain_link WHERE kind IN ('person', 'attachment')")) == 0
