"""The access log's writer on PostgreSQL (emhana/trust/chain/readlog.py): one statement inserts a batch of read
events and links them, the database hashing what Python would; `audit verify` (which hashes in Python) is clean
whatever the events hold, and two writers starting the same new chain at once neither fork it nor fail."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent, ChainHead, ChainLink
from emhana.audit.service import event_row
from emhana.kernel.db import make_engine
from emhana.trust.chain import readlog as chain_readlog
from emhana.trust.chain.kinds import AUDIT, OPEN, record_hash
from emhana.trust.chain.verify import verify
from tests.builders.databases import is_postgres
from tests.builders.people import add_person

AT = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)

# What a purpose may hold: Kazakh and Russian letters, quotes and backslashes that JSON escapes, control characters
# (written as \uXXXX), characters JSON leaves alone but a careless escaper would not, and a four-byte character.
PURPOSES = [
    "periodic exam",
    "Қазақстан: медициналық кітапша",
    'quoted "purpose" with \\ backslash',
    "line\nbreak\ttab\x01\x1f",
    "</script> & < > ' \u2028 \u00e9",
    "emoji 🙂 and ½",
    "",
]

postgres_only = pytest.mark.skipif(not is_postgres(), reason="the one-statement writer is PostgreSQL's")


def _row(actor: Actor | None, person: int | None, purpose: str, at: dt.datetime = AT) -> dict[str, Any]:
    return event_row(
        actor=actor,
        action="attachment.read",
        object_type="person",
        object_id=person if person is not None else "-",
        subject_person_id=person,
        purpose=purpose,
        at=at,
    )


def test_the_text_cut_around_the_id_is_the_text_record_hash_hashes(
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    for i, purpose in enumerate(PURPOSES):
        for actor, person in ((clinician, 7), (None, None)):
            row = _row(actor, person, purpose, AT + dt.timedelta(microseconds=i))
            before, after = chain_readlog._around_id(row)
            for record_id in (1, 42, 10**12 + 7):
                cut = hashlib.sha256((before + str(record_id) + after).encode()).hexdigest()
                assert cut == record_hash(AUDIT, {**row, "id": record_id}, OPEN), (purpose, record_id)


@postgres_only
def test_one_statement_writes_events_and_links_that_verify(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    people = [add_person(sessions, born=dt.date(1980, 1, 1 + i)) for i in range(3)]
    own = make_engine(engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with own.connect() as conn:
            # A chain that exists already, then one batch with several events of one person, events of no person,
            # an anonymous reader and every kind of purpose.
            chain_readlog.write_linked(conn, [_row(clinician, people[0], "before")])
            batch = [_row(clinician, people[i % 3], p) for i, p in enumerate(PURPOSES)]
            batch += [_row(None, people[0], "anonymous"), _row(clinician, None, "about no one")]
            chain_readlog.write_linked(conn, batch)
    finally:
        own.dispose()
    with sessions() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        links = {
            link.record_id: link
            for link in s.scalars(select(ChainLink).where(ChainLink.kind == "audit").order_by(ChainLink.id))
        }
        heads = {
            h.chain_key: (h.seq, h.head_hash) for h in s.scalars(select(ChainHead).where(ChainHead.kind == "audit"))
        }
    assert sorted(e.purpose for e in events) == sorted(["before", *PURPOSES, "anonymous", "about no one"])
    assert set(links) == {e.id for e in events}
    for e in events:
        as_read = {c: getattr(e, c) for c in ("id", *AUDIT.open_fields)}
        assert links[e.id].record_hash == record_hash(AUDIT, as_read, OPEN), e.purpose
    for key in {str(p) for p in people} | {"-"}:
        chain = sorted((link.seq, link) for link in links.values() if link.chain_key == key)
        assert [seq for seq, _ in chain] == list(range(1, len(chain) + 1))
        assert [link.prev_hash for _, link in chain[1:]] == [link.link_hash for _, link in chain[:-1]]
        assert [link.record_id for _, link in chain] == sorted(link.record_id for _, link in chain)  # in id order
        assert heads[key] == (len(chain), chain[-1][1].link_hash)
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, report.findings


@postgres_only
def test_two_writers_starting_the_same_chain_at_once_neither_fork_it_nor_fail(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    person = add_person(sessions, born=dt.date(1980, 1, 1))  # never read: its audit chain has no head yet
    url = engine.url.render_as_string(hide_password=False)
    first_engine, second_engine = make_engine(url), make_engine(url, isolation_level="AUTOCOMMIT")
    errors: list[BaseException] = []
    try:
        with first_engine.connect() as first, second_engine.connect() as second:
            pid = second.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            tx = first.begin()
            chain_readlog.write_linked(first, [_row(clinician, person, "first")])  # the chain's start, not committed

            def write_second() -> None:
                try:
                    chain_readlog.write_linked(second, [_row(clinician, person, "second")])
                except BaseException as exc:  # noqa: BLE001
                    errors.append(exc)

            racer = threading.Thread(target=write_second)
            racer.start()
            deadline = time.monotonic() + 10
            with engine.connect() as admin:  # the second statement waits for the first's uncommitted seq 1
                while time.monotonic() < deadline:
                    waiting = admin.execute(
                        text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
                    ).scalar()
                    if waiting == "Lock":
                        break
                    time.sleep(0.02)
            assert waiting == "Lock"
            tx.commit()
            racer.join(10)
    finally:
        first_engine.dispose()
        second_engine.dispose()
    assert errors == []
    with sessions() as s:
        chain = list(
            s.scalars(
                select(ChainLink)
                .where(ChainLink.kind == "audit", ChainLink.chain_key == str(person))
                .order_by(ChainLink.seq)
            )
        )
        purposes = {e.id: e.purpose for e in s.scalars(select(AuditEvent))}
    assert [(link.seq, purposes[link.record_id]) for link in chain] == [(1, "first"), (2, "second")]
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, report.findings
