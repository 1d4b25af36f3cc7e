"""What each attachment decision tells whom, queued in the decision's own transaction (A-54, A-100, A-06).

Called by emhana.attachment at its decision points. Each message has a dedupe key built from the
decision (application, attachment and what happened), so a replayed step queues nothing new.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import EndReason, State
from emhana.attachment.models import Application, Attachment
from emhana.attachment.notice.templates import Template
from emhana.facilities.models import District, Entity, Site
from emhana.identity.models import Person
from emhana.notify.outbox import RecipientKind, contact_of, enqueue, language_of, mask_iin


def notice_number(app: Application) -> str:
    """Return the document number of an application's notice: the filing year and the application id."""
    return f"{app.filed_on.year}-{app.id:08d}"


def _names(session: Session, language: str, att: Attachment | Application) -> dict[str, Any]:
    """Return the organization, site, address and district of an attachment in a language."""
    entity, site = session.get(Entity, att.entity_id), session.get(Site, att.site_id)
    district = session.get(District, att.district_id)
    kk = language == "kk"
    return {
        "entity": (entity.name_kk if kk else entity.name_ru) if entity else "",
        "site": (site.name_kk if kk else site.name_ru) if site else "",
        "address": (site.address_kk if kk else site.address_ru) if site else "",
        "district": district.number if district else "",
    }


def reason_params(session: Session, app: Application) -> dict[str, Any]:
    """Return the parameters of a refusal's reasoned text (as emhana.attachment.outputs fills them)."""
    expired = [d.expires_on for d in app.documents if d.expires_on is not None and d.expires_on < app.filed_on]
    return {
        "day": app.filed_on.isoformat(),
        "limit": policy_for(session, app.filed_on).max_voluntary_changes_per_year,
        "expires_on": max(expired).isoformat() if expired else "-",
    }


def application_decided(
    session: Session, *, app: Application, attachment: Attachment | None, lost: Attachment | None, now: dt.datetime
) -> None:
    """Tell the applicant (the person, or the representative who applied) the decision, and the organization
    that loses the person on a transfer (A-06)."""
    who = app.applicant_person_id
    contact = contact_of(session, RecipientKind.PERSON, who)
    language = language_of(session, RecipientKind.PERSON, who, contact)
    if app.state == State.REFUSED.value or attachment is None:
        enqueue(
            session,
            kind=RecipientKind.PERSON,
            recipient_id=who,
            template=Template.REFUSED,
            params={
                "application_id": app.id,
                "number": notice_number(app),
                "reason_code": app.reason_code,
                "reason_params": reason_params(session, app),
            },
            dedupe_key=f"application:{app.id}:refused:person:{who}",
            now=now,
            contact=contact,
        )
        return
    enqueue(
        session,
        kind=RecipientKind.PERSON,
        recipient_id=who,
        template=Template.APPROVED,
        params={
            "application_id": app.id,
            "number": notice_number(app),
            "begin": attachment.begin_date,
            **_names(session, language, attachment),
        },
        dedupe_key=f"application:{app.id}:approved:person:{who}",
        now=now,
        contact=contact,
    )
    if lost is not None and lost.entity_id != attachment.entity_id:
        transfer_out(session, lost=lost, begin=attachment.begin_date, now=now)


def transfer_out(session: Session, *, lost: Attachment, begin: dt.date, now: dt.datetime) -> None:
    """Tell the losing organization that a person moves away (A-06).

    A-101 (L): whether the old organization is told of an automatic detachment is not found in the
    sources; telling it is our choice, so that it stops serving the person from the right day.
    """
    person = session.get(Person, lost.person_id)
    if person is None:
        return
    name = " ".join(p for p in (person.surname, person.given_name, person.patronymic) if p)
    enqueue(
        session,
        kind=RecipientKind.ENTITY,
        recipient_id=lost.entity_id,
        template=Template.TRANSFER_OUT,
        params={
            "attachment_id": lost.id,
            "person_id": person.id,
            "person": name,
            "birth_date": person.birth_date,
            "iin_tail": mask_iin(person.iin),
            "begin": begin,
        },
        dedupe_key=f"attachment:{lost.id}:transfer_out:entity:{lost.entity_id}",
        now=now,
    )


def in_effect(session: Session, *, app: Application, attachment: Attachment | None, now: dt.datetime) -> None:
    """Tell the applicant that an approved attachment has come into effect (not when the person has died)."""
    person = session.get(Person, app.person_id)
    if attachment is None or person is None or person.death_date is not None:
        return
    who = app.applicant_person_id
    names = _names(session, language_of(session, RecipientKind.PERSON, who), attachment)
    enqueue(
        session,
        kind=RecipientKind.PERSON,
        recipient_id=who,
        template=Template.IN_EFFECT,
        params={"application_id": app.id, "begin": attachment.begin_date, **names},
        dedupe_key=f"application:{app.id}:in_effect:person:{who}",
        now=now,
    )


def detached(session: Session, *, att: Attachment, now: dt.datetime) -> None:
    """Tell a person that their attachment ends (A-91, A-93, A-94).

    Nobody is told of a death (A-92): the attachment simply ends. A transfer is told by its approval.
    """
    if att.end_reason in (None, EndReason.DEATH.value, EndReason.TRANSFER.value, EndReason.SUPERSEDED.value):
        return
    language = language_of(session, RecipientKind.PERSON, att.person_id)
    enqueue(
        session,
        kind=RecipientKind.PERSON,
        recipient_id=att.person_id,
        template=Template.DETACHED,
        params={
            "attachment_id": att.id,
            "end": att.end_date,
            "reason_code": att.end_reason,
            "entity": _names(session, language, att)["entity"],
        },
        dedupe_key=f"attachment:{att.id}:detached:person:{att.person_id}",
        now=now,
    )


def redistributed(session: Session, *, old: Attachment, new: Attachment, now: dt.datetime) -> None:
    """Tell a person moved from an excluded organization where they are attached now (A-94)."""
    language = language_of(session, RecipientKind.PERSON, new.person_id)
    old_entity = _names(session, language, old)["entity"]
    enqueue(
        session,
        kind=RecipientKind.PERSON,
        recipient_id=new.person_id,
        template=Template.REDISTRIBUTED,
        params={
            "attachment_id": new.id,
            "old_entity": old_entity,
            "begin": new.begin_date,
            **_names(session, language, new),
        },
        dedupe_key=f"attachment:{new.id}:redistributed:person:{new.person_id}",
        now=now,
    )
