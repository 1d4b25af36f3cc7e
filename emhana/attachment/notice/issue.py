"""Issuing and reading the attachment notice of a decided application (A-54, A-100).

A notice is issued once per decided application, on first need (the delivery job or the first
download), from the facts of the decision, in the applicant's language; it is then stored with its
signature and never rewritten. Once the organization's CMS signature of the notice is accepted through
emhana.trust.signatures, its status is ``signed`` and the PDF handed out is the copy that says so (``document``).
The message of a decision encloses it (``enclosure``, registered with emhana.notify.templates). Who may download
it is decided by reading the application (emhana.api.notify checks it through emhana.attachment.application.service).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.attachment.enums import PlaceBasis, State
from emhana.attachment.models import Application, Attachment
from emhana.attachment.notice import supersede
from emhana.attachment.notice.events import notice_number, reason_params
from emhana.attachment.notice.models import AttachmentNotice
from emhana.attachment.notice.pdf import CARE_AT_HOME_VALUES, NoticeContent, SignedBy, render
from emhana.attachment.notice.signer import NotificationSigner, seal_notice
from emhana.attachment.notice.templates import BASES, NOT_ASSIGNED, refusal_text
from emhana.facilities.models import District, Entity, Practitioner, Site
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import NotFound
from emhana.kernel.i18n import translate
from emhana.notify.channels import Enclosure
from emhana.notify.outbox import RecipientKind, language_of, mask_iin
from emhana.trust.signatures.models import RecordSignature

SIGNED = "signed"
DECIDED = frozenset({State.APPROVED.value, State.IN_EFFECT.value, State.REFUSED.value})


def _aware(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(KZ_TIME)


def _full_name(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def content_of(session: Session, app: Application, language: str) -> NoticeContent:
    """Return what the notice of a decided application says, in a language (kk or ru)."""
    person, entity = session.get(Person, app.person_id), session.get(Entity, app.entity_id)
    site, district = session.get(Site, app.site_id), session.get(District, app.district_id)
    if person is None or entity is None or site is None or district is None or app.decided_at is None:
        raise NotFound()
    kk = language == "kk"
    att = session.scalar(select(Attachment).where(Attachment.application_id == app.id))
    doctor_id = att.doctor_id if att is not None else district.doctor_id
    doctor = session.get(Practitioner, doctor_id) if doctor_id is not None else None
    refused = app.state == State.REFUSED.value
    return NoticeContent(
        number=notice_number(app),
        kind="refusal" if refused else "attachment",
        language=language,
        issued_at=_aware(app.decided_at),
        entity=entity.name_kk if kk else entity.name_ru,
        site=site.name_kk if kk else site.name_ru,
        address=site.address_kk if kk else site.address_ru,
        district=str(district.number),
        doctor=_full_name(doctor.surname, doctor.given_name, doctor.patronymic)
        if doctor
        else translate(language, NOT_ASSIGNED),
        person=_full_name(person.surname, person.given_name, person.patronymic),
        birth_date=person.birth_date,
        iin_masked=mask_iin(person.iin),
        basis=translate(language, BASES[PlaceBasis(app.place_basis)]),
        begin=att.begin_date if att is not None and not refused else None,
        reason_code=app.reason_code if refused else None,
        reason=refusal_text(language, app.reason_code or "", reason_params(session, app)) if refused else None,
        note=app.reason_note,
        care_at_home=translate(language, CARE_AT_HOME_VALUES[att.care_at_home])
        if att is not None and att.care_at_home is not None and not refused
        else None,
    )


def _canonical(content: NoticeContent) -> str:
    """Return the canonical JSON of a notice's content (what was decided, without the layout).

    ``care_at_home`` (A-26, added later) appears only when recorded, so a notice without it reads as before."""
    data = dataclasses.asdict(content)
    if data.get("care_at_home") is None:
        data.pop("care_at_home", None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


def ensure_notice(
    session: Session, *, application_id: int, signer: NotificationSigner, now: dt.datetime
) -> AttachmentNotice:
    """Return the notice of a decided application, issuing, signing and storing it on first need."""
    found = session.scalar(select(AttachmentNotice).where(AttachmentNotice.application_id == application_id))
    if found is not None:
        return found
    app = session.get(Application, application_id)
    if app is None or app.state not in DECIDED:
        raise NotFound()
    entity = session.get(Entity, app.entity_id)
    if entity is None:
        raise NotFound()
    language = language_of(session, RecipientKind.PERSON, app.applicant_person_id)
    content = content_of(session, app, language)
    seal_text = seal_notice(
        session,
        entity_id=entity.id,
        number=content.number,
        kind=content.kind,
        site=content.site,
        begin=content.begin,
        now=now,
    )
    pdf = render(content, seal=seal_text)
    signature = signer.sign(pdf, entity)
    row = AttachmentNotice(
        application_id=app.id,
        number=content.number,
        kind=content.kind,
        language=language,
        issued_at=content.issued_at,
        content=_canonical(content),
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        signature=signature.to_json(),
        signature_status=signature.status,
        seal=seal_text,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # issued meanwhile by a concurrent request: keep theirs
        found = session.scalar(select(AttachmentNotice).where(AttachmentNotice.application_id == application_id))
        if found is None:
            raise
        return found
    supersede.if_replaced(session, notice=row, app=app, now=now)  # a later decision already replaced it
    return row


def cms_of(session: Session, row: AttachmentNotice) -> RecordSignature | None:
    """Return the organization's CMS signature of a notice accepted by emhana.trust.signatures, marking the notice
    ``signed`` once it is there (A-54); None while it is not signed."""
    from emhana.trust.signatures.records import RecordKind
    from emhana.trust.signatures.service import signature_of

    found = signature_of(session, RecordKind.ATTACHMENT_NOTICE, row.id)
    if found is not None and row.signature_status != SIGNED:
        row.signature_status = SIGNED
        session.flush()
    return found


def _content_of_row(row: AttachmentNotice) -> NoticeContent:
    data = json.loads(row.content)
    begin = data.get("begin")
    return NoticeContent(
        **{
            **data,
            "issued_at": dt.datetime.fromisoformat(data["issued_at"]),
            "birth_date": dt.date.fromisoformat(data["birth_date"]),
            "begin": dt.date.fromisoformat(begin) if begin else None,
        }
    )


def document(session: Session, row: AttachmentNotice) -> bytes:
    """Return the notice PDF to hand out: as issued while unsigned; once the organization's CMS is accepted, the
    copy that says so (the same content and seal; the signature covers the PDF as issued, by its SHA-256)."""
    cms = cms_of(session, row)
    if cms is None:
        return row.pdf
    return render(
        _content_of_row(row),
        seal=row.seal,
        signed=SignedBy(
            signed_at=cms.signed_at if cms.signed_at.tzinfo else cms.signed_at.replace(tzinfo=dt.UTC),
            bin=cms.signer_bin or "",
            sha256=row.sha256,
        ),
    )


def enclosure(session: Session, params: Mapping[str, Any], *, signer: object, now: dt.datetime) -> Enclosure | None:
    """Return the notice of the decision a message tells of, as PDF (A-54), issuing it on first need; registered
    with emhana.notify.templates for the templates of a decision, ``signer`` being a NotificationSigner."""
    if "application_id" not in params:
        return None
    row = ensure_notice(
        session, application_id=int(params["application_id"]), signer=cast(NotificationSigner, signer), now=now
    )
    return Enclosure(f"notice-{row.number}.pdf", "application/pdf", document(session, row))
