"""Reminders before a clearance expires (C-21): to the owner and the employer through the notify outbox, from
the set-based query, never queued twice, and never with clinical content; the CLI entry point of the daily job."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.accounts.models import Account
from emhana.cli.main import app as cli
from emhana.medbook.remind import EMPLOYER_TEMPLATE, OWNER_TEMPLATE, RemindReport, queue_reminders, render
from emhana.notify.channels import LogChannel, Message
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind, set_contact
from emhana.notify.service import deliver_pending
from tests.builders.medbook import EMPLOYER_BIN, NOW, World, granted_book, link_employers
from tests.builders.people import add_person
from tests.builders.signatures import sign_entries

API = "/api/v1/medbook"
VALID_UNTIL = dt.date(2027, 3, 2)  # the scope recorded on 2 March 2026 + 12 months
RUN = dt.datetime(2027, 2, 20, 6, 0, tzinfo=dt.UTC)


def setup(client: TestClient, w: World, sessions: sessionmaker[Session]) -> tuple[int, int]:
    """A granted book; the employer account speaks through a person, a second employer account has none."""
    link_employers(client, w)
    r = client.post(
        f"{API}/employers",
        headers=w.h["fund"],
        json={"account_id": w.actors["other_employer"].account_id, "bin": EMPLOYER_BIN},
    )
    assert r.status_code == 204
    hr = add_person(sessions)
    with sessions.begin() as s:
        account = s.get(Account, w.actors["employer"].account_id)
        assert account is not None
        account.person_id = hr
    book = granted_book(client, w)
    assert book["clearance"]["valid_until"] == VALID_UNTIL.isoformat()
    return int(book["id"]), hr


def run(sessions: sessionmaker[Session], today: dt.date, days: int = 30) -> RemindReport:
    with sessions.begin() as s:
        return queue_reminders(s, today=today, within_days=days, now=RUN)


def outbox(sessions: sessionmaker[Session]) -> list[Notification]:
    with sessions() as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def test_owner_and_employer_are_reminded_once(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id, hr = setup(client, world, sessions)
    assert run(sessions, dt.date(2027, 1, 30)) == RemindReport(0, 0, 0, 0)  # 31 days left: not yet
    assert run(sessions, dt.date(2027, 2, 20)) == RemindReport(books=1, queued=3, already=0, to_accounts=1)
    rows = outbox(sessions)
    assert [(r.recipient_kind, r.recipient_id, r.template, r.state) for r in rows] == [
        ("person", world.cook, OWNER_TEMPLATE, "pending"),
        ("person", hr, EMPLOYER_TEMPLATE, "pending"),
        ("account", world.actors["other_employer"].account_id, EMPLOYER_TEMPLATE, "pending"),
    ]
    owner, employer, by_account = (json.loads(r.params) for r in rows)
    assert by_account == employer
    assert owner == {"book_id": book_id, "valid_until": "02.03.2027", "days_left": 10}
    assert employer == {**owner, "worker": "Тестов Тест", "position": "повар школьной столовой"}
    # The same reminder is never queued twice: not on a rerun, not on the next day.
    assert run(sessions, dt.date(2027, 2, 20)) == RemindReport(books=1, queued=0, already=3, to_accounts=1)
    assert run(sessions, dt.date(2027, 2, 21)) == RemindReport(books=1, queued=0, already=3, to_accounts=1)
    assert len(outbox(sessions)) == 3
    # The texts, in the recipient's language; the employer's carries no clinical content.
    subject, body = render(OWNER_TEMPLATE, rows[0].language, owner)
    assert subject == "Срок допуска к работе скоро истекает" and "действителен до 02.03.2027" in body
    subject, body = render(EMPLOYER_TEMPLATE, "kk", employer)
    assert "Тестов Тест (повар школьной столовой) жұмысқа жіберуі 02.03.2027 дейін жарамды" in body
    for clinical in ("therapist", "helminths", "negative", "normal", world.cook_iin):
        assert clinical not in rows[1].params and clinical not in body


def test_expired_suspended_and_renewed_clearances(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id, _hr = setup(client, world, sessions)
    assert run(sessions, VALID_UNTIL).books == 0  # expired on its last day: nothing to remind of
    r = client.post(f"{API}/books/{book_id}/clearance", headers=world.h["rt_a"], json={"decision": "suspended"})
    assert r.status_code == 201
    assert run(sessions, dt.date(2027, 2, 20)).books == 0  # a suspension in force: no reminder
    r = client.post(f"{API}/books/{book_id}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert r.status_code == 201
    sign_entries(client, world, int(r.json()["id"]))
    first = run(sessions, dt.date(2027, 2, 20))
    assert first == RemindReport(books=1, queued=3, already=0, to_accounts=1)
    # A new clearance is a new entry with its own reminder; the old one's keys do not block it.
    r = client.post(f"{API}/books/{book_id}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert r.status_code == 201
    sign_entries(client, world, int(r.json()["id"]))
    assert run(sessions, dt.date(2027, 2, 20)) == RemindReport(books=1, queued=3, already=0, to_accounts=1)
    keys = [r.dedupe_key for r in outbox(sessions) if r.template in (OWNER_TEMPLATE, EMPLOYER_TEMPLATE)]
    assert len(keys) == len(set(keys)) == 6  # the suspension's own messages are not reminders


def test_the_daily_job_runs_from_the_command_line(
    client: TestClient, world: World, database_url: str, sessions: sessionmaker[Session]
) -> None:
    setup(client, world, sessions)
    args = ["medbook", "remind", "--days", "30", "--today", "2027-02-20", "--database-url", database_url]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "reminders queued: 3, already queued: 0, of them to employer accounts without a person: 1" in result.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "reminders queued: 0, already queued: 3" in again.output
    assert len(outbox(sessions)) == 3
    bad = CliRunner().invoke(cli, ["medbook", "remind", "--today", "20.02.2027", "--database-url", database_url])
    assert bad.exit_code == 2


def test_nothing_is_queued_without_books(sessions: sessionmaker[Session], world: World) -> None:
    assert run(sessions, NOW.date()) == RemindReport(0, 0, 0, 0)
    assert outbox(sessions) == []


class Mailbox:
    """An e-mail channel that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, message: Message) -> None:
        self.messages.append(message)


def test_reminders_are_delivered_end_to_end(
    client: TestClient, world: World, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """Queue, deliver, sent: the log channel for the owner and the employer's person, e-mail for the employer
    account without a person that gave an address (recipient kind ``account``)."""
    _book_id, hr = setup(client, world, sessions)
    account = world.actors["other_employer"].account_id
    with sessions.begin() as s:
        set_contact(session=s, kind=RecipientKind.ACCOUNT, recipient_id=account, language="kk", email="hr@example.kz")
    run(sessions, dt.date(2027, 2, 20))
    mailbox = Mailbox()
    with caplog.at_level(logging.INFO, logger="emhana.notify"), sessions.begin() as s:
        report = deliver_pending(s, channels={"log": LogChannel(), "email": mailbox}, now=RUN)
    assert (report.sent, report.failed, report.skipped) == (3, 0, 0)
    rows = outbox(sessions)
    assert [(r.recipient_kind, r.channel, r.state, r.attempts, r.last_error) for r in rows] == [
        ("person", "log", "sent", 1, None),
        ("person", "log", "sent", 1, None),
        ("account", "email", "sent", 1, None),
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "emhana.notify"]
    assert any(f"to person {world.cook}: {OWNER_TEMPLATE} (ru)" in line for line in logged)
    assert any(f"to person {hr}: {EMPLOYER_TEMPLATE} (ru)" in line for line in logged)
    [mail] = mailbox.messages
    assert (mail.recipient_kind, mail.recipient_id, mail.address, mail.language) == (
        "account",
        account,
        "hr@example.kz",
        "kk",
    )
    assert mail.subject == render(EMPLOYER_TEMPLATE, "kk", json.loads(rows[2].params))[0]
    assert "Тестов Тест (повар школьной столовой)" in mail.body and "02.03.2027" in mail.body
    with sessions.begin() as s:  # nothing is sent twice
        assert deliver_pending(s, channels={"log": LogChannel(), "email": mailbox}, now=RUN).sent == 0
