"""Turn attachment rows into response schemas, with reasoned texts in kk/ru/en and ETags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from pydantic_core import to_json
from sqlalchemy.orm import Session

from emhana.attachment.application import service
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import REVIEW_MESSAGES, Review, State
from emhana.attachment.models import Application, ApplicationDocument, Attachment, CampaignPolicy
from emhana.attachment.rules import REFUSAL_REASONS
from emhana.attachment.schemas import (
    ApplicationOut,
    AttachmentOut,
    DocumentOut,
    PersonAttachmentsOut,
    PolicyOut,
)
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import VersionConflict
from emhana.kernel.i18n import all_languages


def kz_time(moment: dt.datetime) -> dt.datetime:
    """Return an instant stored in UTC (SQLite returns it naive) in Kazakhstan's time."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(KZ_TIME)


def etag(kind: str, key: int, version: int) -> str:
    """Return the strong ETag of a versioned record."""
    return f'"{kind}-{key}-v{version}"'


def version_from(if_match: str, kind: str, key: int) -> int:
    """Return the version an If-Match header names for a record, or raise VersionConflict (412)."""
    prefix = f"{kind}-{key}-v"
    for tag in (t.strip() for t in if_match.split(",")):
        value = tag.removeprefix("W/").strip('"')
        if value.startswith(prefix) and value[len(prefix) :].isdigit():
            return int(value[len(prefix) :])
    raise VersionConflict()


AttachmentLike = Attachment | service.AttachmentRow
ApplicationLike = Application | service.ApplicationRow
DocumentLike = ApplicationDocument | service.DocumentRow

ATTACHMENT_FIELDS = tuple(AttachmentOut.model_fields)
DOCUMENT_FIELDS = tuple(DocumentOut.model_fields)
_attachment_values = attrgetter(*ATTACHMENT_FIELDS)
_document_values = attrgetter(*DOCUMENT_FIELDS)


def _attachment(att: AttachmentLike) -> dict[str, Any]:
    """An attachment as ``AttachmentOut``'s fields, in their order."""
    return dict(zip(ATTACHMENT_FIELDS, _attachment_values(att), strict=True))


def attachment_out(att: Attachment) -> AttachmentOut:
    """Return the response form of an attachment."""
    return AttachmentOut.model_validate(_attachment(att))


def _reason(session: Session | None, app: ApplicationLike, documents: Sequence[DocumentLike]) -> dict[str, Any] | None:
    """The refusal reason of an application with its reasoned text in kk/ru/en (A-54, A-70), as ``ReasonOut``."""
    if app.reason_code is None:
        return None
    if session is None:
        raise RuntimeError("a refusal's text reads the campaign policy: see outputs.needs_policy")
    template = REFUSAL_REASONS.get(app.reason_code, app.reason_code)
    expired = [d.expires_on for d in documents if d.expires_on is not None and d.expires_on < app.filed_on]
    limit = policy_for(session, app.filed_on).max_voluntary_changes_per_year
    params = {
        "day": app.filed_on.isoformat(),
        "limit": limit,
        "expires_on": max(expired).isoformat() if expired else "-",
    }
    return {"code": app.reason_code, "messages": all_languages(template, params), "note": app.reason_note}


def _application(
    session: Session | None,
    app: ApplicationLike,
    documents: Sequence[DocumentLike],
    att: AttachmentLike | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """An application (``att``: the attachment it opened, if any) as ``ApplicationOut``'s fields, in their order."""
    state = app.state
    if state == State.APPROVED.value and att is not None and att.begin_date <= service.local_day(now):
        state = State.IN_EFFECT.value
    deadline = kz_time(app.deadline)
    return {
        "id": app.id,
        "person_id": app.person_id,
        "applicant_person_id": app.applicant_person_id,
        "channel": app.channel,
        "entity_id": app.entity_id,
        "site_id": app.site_id,
        "district_id": app.district_id,
        "place_basis": app.place_basis,
        "border_claim": app.border_claim,
        "pregnant": app.pregnant,
        "care_at_home": app.care_at_home,
        "change_reason": app.change_reason,
        "state": state,
        "review": [
            {"code": r, "messages": all_languages(REVIEW_MESSAGES[Review(r)])} for r in app.review.split(",") if r
        ],
        "reason": _reason(session, app, documents),
        "submitted_at": kz_time(app.submitted_at),
        "deadline": deadline,
        "overdue": app.state == State.SUBMITTED.value and deadline < now,
        "decided_at": kz_time(app.decided_at) if app.decided_at else None,
        "version": app.version,
        "attachment": _attachment(att) if att else None,
        "documents": [dict(zip(DOCUMENT_FIELDS, _document_values(d), strict=True)) for d in documents],
    }


def application_out(
    session: Session, app: Application, now: dt.datetime, known: Mapping[int, Attachment] | None = None
) -> ApplicationOut:
    """Return an application with its review items, reason, deadline and resulting attachment (``known``: the
    attachments by application id when the caller holds every one that could be it, so none is looked up)."""
    att = known.get(app.id) if known is not None else service.attachment_of(session, app.id)
    return ApplicationOut.model_validate(_application(session, app, app.documents, att, now))


def person_out(session: Session, view: service.PersonView, now: dt.datetime) -> PersonAttachmentsOut:
    """Return a person's attachments and applications."""
    known = {a.application_id: a for a in view.history if a.application_id is not None}
    return PersonAttachmentsOut(
        person_id=view.person_id,
        current=attachment_out(view.current) if view.current else None,
        upcoming=attachment_out(view.upcoming) if view.upcoming else None,
        history=[attachment_out(a) for a in view.history],
        # the person's whole history is at hand: an application's attachment is one of them (no query each)
        applications=[application_out(session, a, now, known) for a in view.applications],
    )


def needs_policy(record: service.PersonRecord) -> bool:
    """Tell whether the answer of a record reads the campaign policy (a refusal's reasoned text names the year's
    limit of changes): ``person_payload`` then needs a session."""
    return any(a.reason_code is not None for a, _docs in record.applications)


def person_payload(session: Session | None, record: service.PersonRecord, now: dt.datetime) -> dict[str, Any]:
    """A person's attachments and applications as ``PersonAttachmentsOut``'s fields: plain values of the types
    its fields hold (ints, strings, booleans, dates, aware datetimes, None), which its validation keeps as they are
    (tests/attachment/test_person_json.py)."""
    known = {a.application_id: a for a in record.history if a.application_id is not None}
    return {
        "person_id": record.person_id,
        "current": _attachment(record.current) if record.current else None,
        "upcoming": _attachment(record.upcoming) if record.upcoming else None,
        "history": [_attachment(a) for a in record.history],
        # the person's whole history is at hand: an application's attachment is one of them (no query each)
        "applications": [_application(session, a, docs, known.get(a.id), now) for a, docs in record.applications],
    }


def person_json(session: Session | None, record: service.PersonRecord, now: dt.datetime) -> bytes:
    """Return a person's attachments and applications as the JSON FastAPI sends for ``PersonAttachmentsOut``
    (the same bytes: pydantic's serializer of the same values), without validating each row into a model."""
    return to_json(person_payload(session, record, now))


def policy_out(row: CampaignPolicy) -> PolicyOut:
    """Return the response form of a campaign policy."""
    return PolicyOut(
        year=row.year,
        window_start=row.window_start,
        window_end=row.window_end,
        effective_date=row.effective_date,
        year_round=row.year_round,
        max_voluntary_changes_per_year=row.max_voluntary_changes_per_year,
        allow_work_basis=row.allow_work_basis,
        allow_study_basis_18plus=row.allow_study_basis_18plus,
        border_exception=row.border_exception,
        children_under_5_actual_residence=row.children_under_5_actual_residence,
        pregnant_actual_residence=row.pregnant_actual_residence,
        care_at_home_by_applicant=row.care_at_home_by_applicant,
        capacity_check=row.capacity_check,
        first_attachment_any_time=row.first_attachment_any_time,
        atu_level=row.atu_level,
        source=row.source,
        version=row.version,
    )
