"""The Core path of an approval writes what the ORM path wrote: the same outbox rows as
emhana.attachment.notice.events (template, parameters, language, channel, address, dedupe key), and the audit
events of the transaction; an attachment row is opened and closed only through writes.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.application import service
from emhana.attachment.enums import Channel
from emhana.attachment.models import Application, Attachment
from emhana.attachment.notice import events
from emhana.attachment.schemas import ApplicationIn
from emhana.audit.guard import suspended
from emhana.audit.models import AuditEvent, ChainHead, ChainLink
from emhana.kernel.fastsql import Fast, sql_later
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind, set_contact
from emhana.trust.chain import store
from emhana.trust.chain.verify import verify
from tests.builders.attachment import IN_WINDOW, Country

FIELDS = (
    "recipient_kind",
    "recipient_id",
    "channel",
    "address",
    "language",
    "template",
    "params",
    "state",
    "attempts",
    "dedupe_key",
    "created_at",
    "next_attempt_at",
)


def outbox(s: Session) -> list[tuple[Any, ...]]:
    return sorted(tuple(getattr(n, f) for f in FIELDS) for n in s.scalars(select(Notification)))


def two_choices(country: Country) -> tuple[tuple[int, dt.datetime], ...]:
    """Two approved eGov choices an hour apart: entity A's site A1, then entity B (a transfer)."""
    return (
        (country.districts[("A1", 1)], IN_WINDOW),
        (country.districts[("B1", 1)], IN_WINDOW + dt.timedelta(hours=1)),
    )


def choose(sessions: sessionmaker[Session], me: Actor, pid: int, district: int, at: dt.datetime) -> None:
    """File a person's application on eGov in a unit of work of its own; it must be approved at once."""
    with sessions.begin() as s:
        app = service.submit(
            session=s,
            actor=me,
            data=ApplicationIn(person_id=pid, district_id=district),
            channel=Channel.EGOV,
            now=at,
        )
        assert app.state == "approved"


def attachment_links(sessions: sessionmaker[Session], pid: int) -> list[str]:
    """The events of a person's attachment chain, in order."""
    with sessions() as s:
        return list(
            s.scalars(
                select(ChainLink.event)
                .where(ChainLink.kind == "attachment", ChainLink.chain_key == str(pid))
                .order_by(ChainLink.seq)
            )
        )


def test_an_approved_transfer_queues_what_notify_events_would(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    pid = person()
    me = make_actor(Role.CITIZEN, person_id=pid)[0]
    with sessions.begin() as s:
        set_contact(session=s, kind=RecipientKind.PERSON, recipient_id=pid, language="kk", email=None)
        set_contact(session=s, kind=RecipientKind.ENTITY, recipient_id=country.a, language="kk", email="a@clinic.kz")
    for district, at in two_choices(country):
        choose(sessions, me, pid, district, at)
    with sessions.begin() as s:
        fast = outbox(s)
        assert {(r[0], r[5]) for r in fast} == {
            ("person", "attachment.approved"),
            ("entity", "attachment.transfer_out"),
        }
        assert ("entity", country.a, "email", "a@clinic.kz", "kk") in {r[:5] for r in fast}
        s.execute(delete(Notification))
        for app in s.scalars(select(Application).where(Application.person_id == pid).order_by(Application.id)):
            new = s.scalar(select(Attachment).where(Attachment.application_id == app.id))
            lost = (
                s.scalar(
                    select(Attachment)
                    .where(Attachment.person_id == pid, Attachment.id < new.id)
                    .order_by(Attachment.id.desc())
                )
                if new
                else None
            )
            events.application_decided(s, app=app, attachment=new, lost=lost, now=app.decided_at or IN_WINDOW)
        s.flush()
        assert outbox(s) == fast
        s.rollback()


def test_the_audit_trail_of_an_approved_transfer(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    pid = person()
    me = make_actor(Role.CITIZEN, person_id=pid)[0]
    ids = []
    for district in (country.districts[("A1", 1)], country.districts[("B1", 1)]):
        with sessions.begin() as s:
            ids.append(
                service.submit(
                    session=s,
                    actor=me,
                    data=ApplicationIn(person_id=pid, district_id=district),
                    channel=Channel.EGOV,
                    now=IN_WINDOW,
                ).id
            )
    with sessions() as s:
        rows = list(s.scalars(select(Attachment).where(Attachment.person_id == pid).order_by(Attachment.id)))
        trail = [
            (e.action, e.object_id, e.purpose, e.account_id)
            for e in s.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.subject_person_id == pid,
                    AuditEvent.action.in_(("application.submit", "attachment.open", "attachment.end")),
                )
                .order_by(AuditEvent.id)
            )
        ]
    first, second = rows
    assert (first.end_date, first.end_reason) == (second.begin_date - dt.timedelta(days=1), "transfer")
    assert trail == [
        ("application.submit", str(ids[0]), "egov", me.account_id),
        ("attachment.open", str(first.id), "first_attachment", None),
        ("application.submit", str(ids[1]), "egov", me.account_id),
        ("attachment.end", str(first.id), "transfer", None),
        ("attachment.open", str(second.id), "voluntary_change", None),
    ]


def test_a_transfer_chains_what_it_wrote_without_reading_it_back(
    engine: Engine,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second transfer's commit hashes the rows it wrote (new attachment, audit events) and the end of the
    linked old attachment from what it knows: no read-back of attachment rows or chain links by id, and the
    chains still verify clean (a wrong hash would show as 'changed')."""
    pid = person()
    me = make_actor(Role.CITIZEN, person_id=pid)[0]
    sent: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    def spy(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Fast, *args: Any, **kwargs: Any) -> Any:
            if recording:
                remember(None, None, str(self.stmt))  # sent on the driver's cursor: no engine event
            return method(self, *args, **kwargs)

        return run

    recording = False
    monkeypatch.setattr(Fast, "rows", spy(Fast.rows))
    monkeypatch.setattr(Fast, "many", spy(Fast.many))
    monkeypatch.setattr(Fast, "later", spy(Fast.later))  # queued in a pipeline: no engine event either
    monkeypatch.setattr(Fast, "many_later", spy(Fast.many_later))
    by_hand = sql_later  # the links with their heads' moves, one statement on PostgreSQL (store.write_links)

    def sql_spy(conn: Any, sql: str, params: Any) -> Any:
        if recording:
            remember(None, None, sql)
        return by_hand(conn, sql, params)

    monkeypatch.setattr(store, "sql_later", sql_spy)

    first, second = two_choices(country)
    choose(sessions, me, pid, *first)
    event.listen(engine, "before_cursor_execute", remember)
    recording = True
    try:
        choose(sessions, me, pid, *second)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
        recording = False
    read_back = [
        q
        for q in sent
        if q.startswith("SELECT chain_link.record_id")
        or (q.startswith("SELECT") and ("WHERE attachment.id IN" in q or "WHERE audit_event.id IN" in q))
    ]
    assert read_back == []
    assert any("INSERT INTO chain_link" in q for q in sent)
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, report.findings
    assert attachment_links(sessions, pid) == ["open", "end", "open"]  # the first attachment, its end, the second


def test_an_unlinked_history_is_read_back_and_chained(
    engine: Engine,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    """A bulk-loaded attachment without links (the generator's COPY) gets its open and end links at its
    transfer, from the row read back."""
    pid = person()
    me = make_actor(Role.CITIZEN, person_id=pid)[0]
    first, second = two_choices(country)
    choose(sessions, me, pid, *first)
    with engine.begin() as conn, suspended(conn):
        conn.execute(delete(ChainLink).where(ChainLink.kind == "attachment"))
        conn.execute(delete(ChainHead).where(ChainHead.kind == "attachment"))
    choose(sessions, me, pid, *second)
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, report.findings
    assert attachment_links(sessions, pid) == ["open", "end", "open"]
