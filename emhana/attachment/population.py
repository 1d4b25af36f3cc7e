"""What identity asks the attachment campaign about an organization's population (emhana.identity.access).

A person belongs to an organization's population when attached to it (the open attachment, A-01) or when an
application to it waits for its decision or for its effective date. Identity uses the answers to let a
registrar record a legal representation of a person attached to their organization, and to let staff read
their own population's identity data without stating a purpose each time (issue 14).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from emhana.attachment.models import Application, Attachment
from emhana.identity import access

OPEN_STATES = ("submitted", "approved")  # decided and in effect: an attachment row says it


def attached_entity(session: Session, person_id: int, day: dt.date) -> int | None:
    """Return the organization of the person's open attachment, or None."""
    del day  # at most one open attachment per person; a future one is already the person's organization
    return session.scalar(
        select(Attachment.entity_id).where(Attachment.person_id == person_id, Attachment.end_date.is_(None)).limit(1)
    )


class Period(Protocol):
    """An attachment period as the population needs it (an ``Attachment`` or a row of one)."""

    @property
    def entity_id(self) -> int: ...

    @property
    def end_date(self) -> dt.date | None: ...


def known_from(session: Session, person_id: int, day: dt.date, history: Iterable[Period]) -> None:
    """Tell identity the person's organization, from the person's whole attachment history just read in the
    session's transaction: the entity of the open period, as ``attached_entity`` would answer (kept only in a
    read-only unit of work: ``access.attachment_known``)."""
    entity = next((a.entity_id for a in history if a.end_date is None), None)
    access.attachment_known(session, person_id, day, entity)


# An application of the person to the organization not yet in effect.
OPEN_APPLICATION = (
    select(Application.id)
    .where(
        Application.person_id == bindparam("person"),
        Application.entity_id == bindparam("entity"),
        Application.state.in_(OPEN_STATES),
    )
    .limit(1)
)


def has_open_application(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
    """Tell whether an application of the person to the organization is not yet in effect (``OPEN_APPLICATION``)."""
    del day
    return session.scalar(OPEN_APPLICATION, {"person": person_id, "entity": entity_id}) is not None


access.register_attachment(attached_entity)
access.register_relation("attachment.application", has_open_application, OPEN_APPLICATION)
