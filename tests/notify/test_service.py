"""Delivering the outbox on the real database: through a real local SMTP server with the attachment notice
enclosed, failures kept and retried with backoff, nothing sent twice, the log channel never naming an IIN."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.attachment.notice.signer import DemoNotificationSigner
from emhana.identity.models import Person
from emhana.notify.channels import Channel as NotifyChannel
from emhana.notify.channels import LogChannel, SmtpChannel
from emhana.notify.service import backoff, deliver_pending
from emhana.testing.mail import Inbox, free_port
from tests.builders.attachment import Country
from tests.builders.notices import LATER, apply, contact, outbox


def test_delivery_through_a_real_smtp_server_with_the_notice_and_never_twice(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    pid = person()
    contact(sessions, pid)
    apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    channels: dict[str, NotifyChannel] = {
        "email": SmtpChannel("127.0.0.1", port, "registry@emhana.invalid"),
        "log": LogChannel(),
    }
    signer = DemoNotificationSigner()
    with sessions.begin() as s:
        report = deliver_pending(s, channels=channels, now=LATER, signer=signer)
    assert (report.sent, report.failed) == (1, 0)
    (mail,) = inbox.messages
    assert mail["To"] == "dana@example.kz" and mail["Subject"] == "Бекіту мақұлданды"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "мақұлданды" in body.get_content()
    (pdf,) = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert pdf.get_content().startswith(b"%PDF")
    (row,) = outbox(sessions)
    assert (row.state, row.attempts, row.sent_at is not None, row.last_error) == ("sent", 1, True, None)
    with sessions.begin() as s:
        again = deliver_pending(s, channels=channels, now=LATER + dt.timedelta(days=1), signer=signer)
    assert (again.sent, again.failed, len(inbox.messages)) == (0, 0, 1)


def test_a_closed_smtp_port_keeps_the_row_and_a_later_run_delivers_it_once(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    pid = person()
    contact(sessions, pid, language="ru")
    apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    closed = {"email": SmtpChannel("127.0.0.1", free_port(), "registry@emhana.invalid", timeout=2)}
    for attempt in (1, 2):
        at = LATER + dt.timedelta(hours=attempt)
        with sessions.begin() as s:
            report = deliver_pending(s, channels=closed, now=at)
        assert (report.sent, report.failed) == (0, 1)
        (row,) = outbox(sessions)
        assert (row.state, row.attempts) == ("failed", attempt) and "Error" in (row.last_error or "")
        with sessions.begin() as s:  # not due again before its backoff
            assert deliver_pending(s, channels=closed, now=at + backoff(attempt) / 2).failed == 0
    working = {"email": SmtpChannel("127.0.0.1", port, "registry@emhana.invalid")}
    with sessions.begin() as s:
        assert deliver_pending(s, channels=working, now=LATER + dt.timedelta(days=1)).sent == 1
    (row,) = outbox(sessions)
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(inbox.messages) == 1 and inbox.messages[0]["Subject"] == "Прикрепление одобрено"
    with sessions.begin() as s:
        assert deliver_pending(s, channels=working, now=LATER + dt.timedelta(days=2)).sent == 0
    assert len(inbox.messages) == 1


def test_log_channel_logs_ids_not_the_iin_and_an_unconfigured_channel_waits(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    caplog: pytest.LogCaptureFixture,
) -> None:
    by_mail, by_log = person(), person()
    contact(sessions, by_mail)
    for pid in (by_mail, by_log):
        apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    caplog.set_level(logging.INFO, logger="emhana.notify")
    with sessions.begin() as s:
        report = deliver_pending(s, channels={"log": LogChannel()}, now=LATER)
    assert (report.sent, report.skipped) == (1, 1)
    with sessions() as s:
        iins = [s.get_one(Person, p).iin for p in (by_mail, by_log)]
    assert "attachment.approved" in caplog.text and f"person {by_log}" in caplog.text
    assert not any(iin in caplog.text for iin in iins)
    assert [r.state for r in outbox(sessions)] == ["pending", "sent"]
