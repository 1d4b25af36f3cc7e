"""Retries of a message that keeps failing: the wait doubles from a minute up to six hours, and after
MAX_ATTEMPTS failures the message is a dead letter, kept with its last error, never tried again, and counted in
the backlog the Fund sees."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.jobs.runner import aware
from emhana.jobs.status import backlog
from emhana.medbook.remind import OWNER_TEMPLATE
from emhana.notify.channels import Channel, Message
from emhana.notify.models import Notification
from emhana.notify.outbox import MAX_ATTEMPTS, RecipientKind, backoff, enqueue
from emhana.notify.service import deliver_pending

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
PARAMS = {"book_id": 7, "valid_until": "2026-04-01", "days_left": 22}


class Refusing:
    """A channel whose relay refuses every message."""

    def __init__(self) -> None:
        self.tries = 0

    def send(self, message: Message) -> None:
        self.tries += 1
        raise ConnectionRefusedError("relay down")


def test_the_wait_doubles_up_to_six_hours_and_the_message_dies_after_the_last_attempt(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        enqueue(
            s,
            kind=RecipientKind.PERSON,
            recipient_id=1,
            template=OWNER_TEMPLATE,
            params=PARAMS,
            dedupe_key="dead-letter-test",
            now=T0,
        )
    refusing = Refusing()
    channels: dict[str, Channel] = {"log": refusing}
    now, waits = T0, []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with sessions.begin() as s:
            assert deliver_pending(s, channels=channels, now=now).failed == 1
        with sessions() as s:
            row = s.scalars(select(Notification)).one()
        assert row.attempts == attempt and row.last_error == "ConnectionRefusedError: relay down"
        if attempt == MAX_ATTEMPTS:
            assert row.state == "dead"
            break
        assert row.state == "failed"
        waits.append(aware(row.next_attempt_at) - now)
        with sessions.begin() as s:  # not tried before its wait is over
            assert deliver_pending(s, channels=channels, now=now + waits[-1] / 2).failed == 0
        now += waits[-1]
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert all(m == 360 for m in minutes[9:]) and minutes == [
        int(backoff(a).total_seconds() // 60) for a in range(1, MAX_ATTEMPTS)
    ]
    assert refusing.tries == MAX_ATTEMPTS
    with sessions.begin() as s:  # a dead letter is never tried again
        assert deliver_pending(s, channels=channels, now=now + dt.timedelta(days=30)).failed == 0
    assert refusing.tries == MAX_ATTEMPTS
    with sessions() as s:
        waiting = backlog(s)
    assert (waiting.pending, waiting.failed, waiting.dead, waiting.oldest_waiting) == (0, 0, 1, None)


def test_messages_for_a_channel_not_configured_here_do_not_hold_up_the_queue(
    sessions: sessionmaker[Session],
) -> None:
    from emhana.notify.channels import LogChannel
    from emhana.notify.outbox import set_contact

    with sessions.begin() as s:
        for n in range(3):  # the oldest three go by e-mail, and this deliverer has no SMTP
            set_contact(session=s, kind=RecipientKind.PERSON, recipient_id=n, language="ru", email=f"p{n}@example.kz")
        for n in range(5):
            enqueue(
                s,
                kind=RecipientKind.PERSON,
                recipient_id=n,
                template=OWNER_TEMPLATE,
                params=PARAMS,
                dedupe_key=f"mixed-{n}",
                now=T0,
            )
    with sessions.begin() as s:
        report = deliver_pending(s, channels={"log": LogChannel()}, now=T0, limit=2)
    assert (report.sent, report.failed, report.skipped) == (2, 0, 3)
    with sessions() as s:
        states = [(r.channel, r.state) for r in s.scalars(select(Notification).order_by(Notification.id))]
    assert states == [("email", "pending")] * 3 + [("log", "sent")] * 2
