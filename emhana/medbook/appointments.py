"""Responsible therapists of an organization (C-05): appoint one for a period, who holds the post on a day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities.models import Entity
from emhana.kernel.errors import (
    AppointeeNotEligible,
    Forbidden,
    InvalidDates,
    NotFound,
    NotResponsibleTherapist,
)
from emhana.kernel.i18n import N_
from emhana.medbook.models import ResponsibleAppointment
from emhana.medbook.schemas import AppointIn

REASON_APPOINTMENT_ORDER = N_("a new appointment must begin after the current one")


def responsible_on(*, session: Session, entity_id: int, day: dt.date) -> ResponsibleAppointment | None:
    """Return the appointment of an entity's responsible therapist in effect on a day (C-05)."""
    return session.scalar(
        select(ResponsibleAppointment)
        .where(
            ResponsibleAppointment.entity_id == entity_id,
            ResponsibleAppointment.valid_from <= day,
            or_(ResponsibleAppointment.valid_to.is_(None), ResponsibleAppointment.valid_to > day),
        )
        .order_by(ResponsibleAppointment.valid_from.desc())
        .limit(1)
    )


def require_responsible(session: Session, actor: Actor, entity_id: int, day: dt.date) -> None:
    current = responsible_on(session=session, entity_id=entity_id, day=day)
    if actor.role is not Role.RESPONSIBLE_THERAPIST or current is None or current.account_id != actor.account_id:
        raise NotResponsibleTherapist()


def appoint(
    *, session: Session, actor: Actor, entity_id: int, data: AppointIn, now: dt.datetime
) -> ResponsibleAppointment:
    """Appoint an entity's responsible therapist; the open appointment ends where the new one begins (C-05)."""
    if session.get(Entity, entity_id) is None:
        raise NotFound()
    if actor.role is Role.ENTITY_ADMIN and actor.entity_id != entity_id:
        raise Forbidden()
    account = session.get(Account, data.account_id)
    if (
        account is None
        or not account.active
        or account.role != Role.RESPONSIBLE_THERAPIST.value
        or account.entity_id != entity_id
    ):
        raise AppointeeNotEligible()
    current = session.scalar(
        select(ResponsibleAppointment).where(
            ResponsibleAppointment.entity_id == entity_id, ResponsibleAppointment.valid_to.is_(None)
        )
    )
    if current is not None:
        if data.valid_from <= current.valid_from:
            raise InvalidDates(reason=REASON_APPOINTMENT_ORDER)
        current.valid_to = data.valid_from
        session.flush()
    row = ResponsibleAppointment(
        entity_id=entity_id,
        account_id=account.id,
        valid_from=data.valid_from,
        appointed_by=actor.account_id,
        appointed_at=now,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.appoint",
        object_type="entity",
        object_id=str(entity_id),
        purpose=f"responsible therapist {account.id}",
        now=now,
    )
    return row


def appointments(*, session: Session, actor: Actor, entity_id: int) -> list[tuple[ResponsibleAppointment, str]]:
    """Return the appointment history of an entity, latest first, with the appointees' names."""
    if session.get(Entity, entity_id) is None:
        raise NotFound()
    if actor.role is not Role.FUND_ADMIN and actor.entity_id != entity_id:
        raise Forbidden()
    rows = session.execute(
        select(ResponsibleAppointment, Account.display_name)
        .join(Account, Account.id == ResponsibleAppointment.account_id)
        .where(ResponsibleAppointment.entity_id == entity_id)
        .order_by(ResponsibleAppointment.valid_from.desc())
    ).all()
    return [(a, name) for a, name in rows]
