"""Builders of the notification tests: an application filed on eGov, the outbox as stored, a recipient's
contact."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.attachment.application import service
from emhana.attachment.enums import Channel
from emhana.attachment.models import Application
from emhana.attachment.schemas import ApplicationIn
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind, set_contact
from tests.builders.attachment import IN_WINDOW

LATER = IN_WINDOW + dt.timedelta(minutes=1)


def apply(
    sessions: sessionmaker[Session],
    actor: Actor,
    *,
    person_id: int,
    district_id: int,
    at: dt.datetime = IN_WINDOW,
    **kw: Any,
) -> Application:
    with sessions.begin() as s:
        app = service.submit(
            session=s,
            actor=actor,
            data=ApplicationIn(person_id=person_id, district_id=district_id, **kw),
            channel=Channel.EGOV,
            now=at,
        )
        s.expunge_all()
        return app


def outbox(sessions: sessionmaker[Session]) -> list[Notification]:
    with sessions() as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def contact(
    sessions: sessionmaker[Session],
    pid: int,
    language: str = "kk",
    email: str | None = "dana@example.kz",
    kind: RecipientKind = RecipientKind.PERSON,
) -> None:
    with sessions.begin() as s:
        set_contact(session=s, kind=kind, recipient_id=pid, language=language, email=email)
