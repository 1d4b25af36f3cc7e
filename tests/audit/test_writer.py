"""The audit package is the one writer of audit events: the ORM form and the batch form (one INSERT for
the events of a hot path, returning the rows as written for the hash chain)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.writes import Events as AttachmentEvents
from emhana.audit.models import AuditEvent, ChainLink
from emhana.audit.service import Events, event_row, record_event, write_events
from emhana.kernel.fastsql import Fast
from emhana.trust.chain.verify import verify

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def inserts(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The INSERT statements into audit_event sent from now on, on the engine or on the driver's cursor."""
    sent: list[str] = []
    inside = [False]  # a Fast statement is counted once, whichever way it is sent

    def remember(statement: str) -> None:
        if " ".join(statement.split()).startswith("INSERT INTO audit_event"):
            sent.append(statement)

    def spy(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Fast, *args: Any, **kwargs: Any) -> Any:
            remember(str(self.stmt))
            inside[0] = True
            try:
                return method(self, *args, **kwargs)
            finally:
                inside[0] = False

        return run

    def on_engine(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not inside[0]:
            remember(statement)

    monkeypatch.setattr(Fast, "many", spy(Fast.many))
    monkeypatch.setattr(Fast, "rows", spy(Fast.rows))
    event.listen(engine, "before_cursor_execute", on_engine)
    yield sent
    event.remove(engine, "before_cursor_execute", on_engine)


def test_a_batch_is_one_insert_returning_the_rows_as_written(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], inserts: list[str]
) -> None:
    actor = make_actor(Role.REGISTRAR)[0]
    rows = [
        event_row(actor=actor, action="x.one", object_type="thing", object_id=1, subject_person_id=None, at=AT),
        event_row(actor=None, action="x.two", object_type="thing", object_id="2", purpose="why", at=AT),
    ]
    with sessions.begin() as s:
        written = write_events(s, rows)
    assert len(inserts) == 1
    assert [r["action"] for r in written] == ["x.one", "x.two"]
    with sessions() as s:
        stored = {e.id: e for e in s.scalars(select(AuditEvent))}
    for row in written:
        e = stored[row["id"]]
        assert (e.account_id, e.action, e.object_type, e.object_id, e.purpose) == (
            row["account_id"],
            row["action"],
            row["object_type"],
            row["object_id"],
            row["purpose"],
        )
    assert written[0]["account_id"] == actor.account_id and written[1]["object_id"] == "2"
    assert all(r["at"] == AT for r in written)


def test_an_empty_batch_sends_nothing(sessions: sessionmaker[Session], inserts: list[str]) -> None:
    with sessions.begin() as s:
        assert write_events(s, []) == []
        assert Events(None).write(s) == []
    assert inserts == []


def test_the_batch_takes_the_actor_of_the_event_or_of_the_batch(
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    fund, registrar = make_actor(Role.FUND_ADMIN)[0], make_actor(Role.REGISTRAR)[0]
    batch = Events(fund)
    batch.add("a", "thing", 1, at=AT)
    batch.add("b", "thing", 2, actor=registrar, at=AT.astimezone(dt.timezone(dt.timedelta(hours=5))))
    assert [r["account_id"] for r in batch.rows] == [fund.account_id, registrar.account_id]
    assert batch.rows[1]["at"] == AT and batch.rows[1]["at"].tzinfo == dt.UTC  # stored as UTC


def test_both_forms_are_chained(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    """The ORM form is linked by the chain's flush listener; the hot path's batch hands its rows as written."""
    actor = make_actor(Role.REGISTRAR)[0]
    with sessions.begin() as s:
        record_event(session=s, actor=actor, action="orm.form", object_type="thing", object_id="1", now=AT)
        batch = AttachmentEvents(actor)
        batch.add("core.form", "thing", 2, at=AT)
        batch.add("core.form", "thing", 3, at=AT)
        written = batch.write(s)
        assert batch.rows == []
    with sessions() as s:
        ids = set(s.scalars(select(AuditEvent.id)))
        linked = set(s.scalars(select(ChainLink.record_id).where(ChainLink.kind == "audit")))
    assert {r["id"] for r in written} < ids and ids <= linked
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, report.findings
