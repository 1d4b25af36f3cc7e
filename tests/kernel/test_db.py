"""The database's transactions (emhana/kernel/db.py): on SQLite a unit of work holds the write lock from its
first statement, a read one holds none, sees one snapshot and cannot write (alike on PostgreSQL), and a
commit is synced to disk."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError

from emhana.kernel.db import READ_ONLY, libpq_url, make_engine, make_sessionmaker, reader, unit_of_work
from emhana.testing.databases import postgres_test_url, schema_url, with_options


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    yield path, engine
    engine.dispose()


def can_take_the_write_lock(path: Path) -> bool:
    """Try, from another connection, to begin a write transaction without waiting."""
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_on_sqlite_a_unit_of_work_holds_the_write_lock_from_its_first_read(sqlite_file: tuple[Path, Engine]) -> None:
    path, engine = sqlite_file
    assert can_take_the_write_lock(path)
    with unit_of_work(make_sessionmaker(engine)) as s:
        assert s.scalar(text("SELECT count(*) FROM t")) == 0  # a read only: the check of read-check-write
        assert not can_take_the_write_lock(path)
    assert can_take_the_write_lock(path)


def test_on_sqlite_the_second_writer_waits_and_then_reads_what_the_first_committed(
    sqlite_file: tuple[Path, Engine],
) -> None:
    """The read-check-write of two units of work cannot interleave: the second reads after the first commits."""
    _, engine = sqlite_file
    factory = make_sessionmaker(engine)
    first_read, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def one(wait: bool) -> None:
        with unit_of_work(factory) as s:
            n = int(s.scalar(text("SELECT count(*) FROM t")) or 0)
            seen.append(n)
            if wait:
                first_read.set()
                assert release.wait(10)
            if n == 0:  # insert only into an empty table
                s.execute(text("INSERT INTO t (id) VALUES (:i)"), {"i": 1 if wait else 2})

    first = threading.Thread(target=one, args=(True,))
    first.start()
    assert first_read.wait(10)
    second = threading.Thread(target=one, args=(False,))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # it waits at its BEGIN, before reading
    release.set()
    first.join(10)
    second.join(10)
    assert seen == [0, 1]
    with engine.connect() as conn:
        assert list(conn.execute(text("SELECT id FROM t")).scalars()) == [1]


def test_on_sqlite_a_read_only_unit_of_work_takes_no_lock(sqlite_file: tuple[Path, Engine]) -> None:
    path, engine = sqlite_file
    with unit_of_work(make_sessionmaker(engine), read_only=True) as s:
        assert s.scalar(text("SELECT count(*) FROM t")) == 0
        assert can_take_the_write_lock(path)


def test_on_sqlite_commits_are_synced_to_disk(sqlite_file: tuple[Path, Engine]) -> None:
    """synchronous=FULL: a committed transaction survives a power loss (docs/architecture.md, "Durability")."""
    _, engine = sqlite_file
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


@pytest.fixture
def probe(database_url: str) -> Iterator[tuple[Engine, str]]:
    """An engine with one pooled connection over the test database, and a table of its own."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    table = f"db_probe_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)"))
    yield engine, table
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def test_a_read_only_unit_of_work_cannot_write_and_the_next_one_can(probe: tuple[Engine, str]) -> None:
    engine, table = probe
    factory = make_sessionmaker(engine)
    with pytest.raises(DBAPIError), unit_of_work(factory, read_only=True) as s:
        s.execute(text(f"INSERT INTO {table} (id) VALUES (1)"))
    with unit_of_work(factory) as s:  # the same pooled connection, writable again
        s.execute(text(f"INSERT INTO {table} (id) VALUES (2)"))
    with engine.connect() as conn:
        assert list(conn.execute(text(f"SELECT id FROM {table}")).scalars()) == [2]


def test_a_read_only_unit_of_work_reads_one_snapshot(probe: tuple[Engine, str], database_url: str) -> None:
    """A long read (a report, `audit verify`) sees the database as it was at its first statement."""
    engine, table = probe
    other = make_engine(database_url)
    try:
        with reader(engine).connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
            with other.begin() as w:
                w.execute(text(f"INSERT INTO {table} (id) VALUES (1)"))
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        with reader(engine).connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1
    finally:
        other.dispose()


def test_the_reader_of_an_engine_is_made_once(sqlite_file: tuple[Path, Engine], tmp_path: Path) -> None:
    _path, engine = sqlite_file
    assert reader(engine) is reader(engine)
    assert reader(engine).get_execution_options()[READ_ONLY] is True
    assert not engine.get_execution_options().get(READ_ONLY)  # the engine itself still writes
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        assert reader(other) is not reader(engine)
    finally:
        other.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("idle", [0.0, 3600.0])
def test_a_pooled_connection_is_pinged_only_after_it_was_idle(idle: float) -> None:
    """With ``ping_after_idle`` (the app's primary engine) a connection idle past the bound is pinged and, dead,
    replaced before use; one back from a request a moment ago is not pinged: cut meanwhile, its statement fails
    once and the pool then connects again."""
    base = postgres_test_url()
    if base is None:
        pytest.skip("EMHANA_TEST_DATABASE_URL is not set")
    engine = make_engine(base, ping_after_idle=idle, pool_size=1, max_overflow=0)
    admin = make_engine(base)
    try:
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid}) is True
            conn.commit()
        time.sleep(0.2)
        if idle == 0.0:  # pinged, found dead, replaced: the statement never sees it
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT pg_backend_pid()")) != pid
        else:
            with pytest.raises(DBAPIError) as failed, engine.connect() as conn:
                conn.scalar(text("SELECT 1"))
            assert failed.value.connection_invalidated
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_libpq_url_writes_a_space_between_server_options_as_percent_20() -> None:
    url = make_url("postgresql+psycopg://u:p%2Bq@h:5432/d").update_query_dict({"options": "-ca=1 -cb=2"})
    assert libpq_url(url) == "postgresql://u:p+q@h:5432/d?options=-ca%3D1%20-cb%3D2"  # a plus in the password is one
    assert make_url(libpq_url(url)).query["options"] == "-ca=1 -cb=2"  # and SQLAlchemy reads it back alike


def test_a_schemas_search_path_is_kept_beside_the_urls_own_server_options() -> None:
    url = schema_url(with_options("postgresql+psycopg://postgres@h/test", "-cstatement_timeout=5s"), "t_1")
    assert make_url(url).query["options"] == "-cstatement_timeout=5s -csearch_path=t_1"
    assert with_options(url, "-csearch_path=t_1") == url  # added once
