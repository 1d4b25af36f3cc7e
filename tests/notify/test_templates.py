"""The template registry: notify renders and encloses by what the processes registered, and a message whose
template nobody registered fails on its row (kept, retried) instead of being dropped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.notify import templates
from emhana.notify.channels import Enclosure, LogChannel
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind, enqueue
from emhana.notify.service import deliver_pending
from emhana.testing.mail import Mailbox

NOW = dt.datetime(2025, 9, 10, 5, 0, tzinfo=dt.UTC)


def render(template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
    return f"{template} ({language})", f"hello {params['name']}"


def enclose(session: Session, params: Mapping[str, Any], *, signer: object, now: dt.datetime) -> Enclosure | None:
    return Enclosure("note.txt", "text/plain", f"{params['name']} by {signer}".encode())


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(templates._templates, "test.hello", templates.Registered(render, enclose))


def queue(sessions: sessionmaker[Session], template: str, key: str) -> None:
    with sessions.begin() as s:
        enqueue(
            s,
            kind=RecipientKind.ACCOUNT,
            recipient_id=1,
            template=template,
            params={"name": "Dana"},
            dedupe_key=key,
            now=NOW,
        )


def test_the_registered_renderer_and_enclosure_make_the_message(
    sessions: sessionmaker[Session], registered: None
) -> None:
    queue(sessions, "test.hello", "test:1")
    mailbox = Mailbox()
    with sessions.begin() as s:
        report = deliver_pending(s, channels={"log": mailbox}, now=NOW, signer="the signer")
    assert (report.sent, report.failed) == (1, 0)
    (message,) = mailbox.messages
    assert (message.subject, message.body) == ("test.hello (ru)", "hello Dana")
    assert message.enclosures == (Enclosure("note.txt", "text/plain", b"Dana by the signer"),)


def test_without_a_signer_nothing_is_enclosed(sessions: sessionmaker[Session], registered: None) -> None:
    queue(sessions, "test.hello", "test:2")
    mailbox = Mailbox()
    with sessions.begin() as s:
        assert deliver_pending(s, channels={"log": mailbox}, now=NOW).sent == 1
    assert mailbox.messages[0].enclosures == ()


def test_an_unregistered_template_fails_on_its_row_and_stays_queued(sessions: sessionmaker[Session]) -> None:
    queue(sessions, "test.nobody", "test:3")
    with sessions.begin() as s:
        report = deliver_pending(s, channels={"log": LogChannel()}, now=NOW)
    assert (report.sent, report.failed) == (0, 1)
    with sessions() as s:
        row = s.scalars(select(Notification)).one()
    assert row.state == "failed" and "UnknownTemplate" in (row.last_error or "")
    with pytest.raises(templates.UnknownTemplate):
        templates.render("test.nobody", "ru", {})
