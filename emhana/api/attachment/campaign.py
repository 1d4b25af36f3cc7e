"""Routes of the attachment campaign for citizens and registrars: free places, applications by three
channels (A-50, A-51), the registrar's queue and decisions, attachments and their history.

Every POST takes an Idempotency-Key; a decision needs If-Match with the application's ETag. No IIN
ever sits in a URL: persons are addressed by their registry id.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from emhana.accounts.roles import Can, Role
from emhana.accounts.service import Actor
from emhana.api.attachment import places
from emhana.api.attachment.fund import router as fund_router
from emhana.attachment import outputs
from emhana.attachment.application import reads as attachment_reads
from emhana.attachment.application import reasons, service
from emhana.attachment.campaign import calendar
from emhana.attachment.enums import Channel
from emhana.attachment.models import ApplicationDocument
from emhana.attachment.nearby import Place
from emhana.attachment.rules import free_places
from emhana.attachment.schemas import (
    MAX_UPLOAD_BYTES,
    UPLOAD_TYPES,
    ApplicationIn,
    ApplicationOut,
    DeadlineOut,
    DecisionIn,
    DistrictFreeOut,
    HolidayOut,
    MyAttachmentsOut,
    NearFreeOut,
    OutlookOut,
    PersonAttachmentsOut,
    SiteFreeOut,
)
from emhana.audit.idempotency import run_once
from emhana.facilities.rules import Profile
from emhana.kernel import clock
from emhana.kernel.errors import Forbidden, InvalidInput, NotFound, OutsideKazakhstan, PreconditionRequired
from emhana.reference.rules import in_kazakhstan
from emhana.web.deps import LoggedReadSessionDep, SessionDep, public, require
from emhana.web.purpose import PurposeQuery, PurposeTextQuery, stated
from emhana.web.reads import async_reads, in_read_only_session, logged_read

router = APIRouter(prefix="/attachment", tags=["attachment"])
router.include_router(fund_router)

IdempotencyKey = Annotated[str | None, Header()]


def _districts(rows: Sequence[tuple[Place, int]]) -> list[DistrictFreeOut]:
    """Return districts with capacity, attached and free places."""
    return [
        DistrictFreeOut(
            district_id=d.id,
            number=d.number,
            profile=d.profile,
            capacity=d.capacity,
            attached=n,
            free=free_places(d.capacity, n),
            doctor_id=d.doctor_id,
        )
        for d, n in rows
    ]


def _application_response(status: int, payload: dict[str, Any]) -> JSONResponse:
    """Return an application answer with its ETag."""
    tag = outputs.etag("application", int(payload["id"]), int(payload["version"]))
    return JSONResponse(payload, status_code=status, headers={"ETag": tag})


@router.get("/calendar/{year}", response_model=list[HolidayOut], dependencies=[public()])
def holidays(year: int) -> list[HolidayOut]:
    """List Kazakhstan's days off of a year beyond weekends, substitute days included (A-52)."""
    out = []
    for day, kind, h in calendar.holidays_of(year):
        out.append(
            HolidayOut(
                date=day,
                kind=kind,
                name_kk=h.name_kk if h else "Ауыстырылған демалыс күні",
                name_ru=h.name_ru if h else "Перенесённый выходной день",
                name_en=h.name_en if h else "Substitute day off",
            )
        )
    return out


@router.get("/deadline", response_model=DeadlineOut, dependencies=[public()])
def deadline(submitted_at: dt.datetime) -> DeadlineOut:
    """Return the decision deadline of an application filed at an instant (A-52)."""
    if submitted_at.tzinfo is None:
        submitted_at = submitted_at.replace(tzinfo=clock.KZ_TIME)
    return DeadlineOut(submitted_at=submitted_at, deadline=calendar.decision_deadline(submitted_at))


@router.get("/sites/{site_id}/free", response_model=SiteFreeOut, dependencies=[public()])
def site_free(site_id: int, session: SessionDep) -> SiteFreeOut:
    """Show a site's districts with capacity, attached and free places, before a person chooses (A-80)."""
    site, rows = service.site_free(session=session, site_id=site_id)
    return SiteFreeOut(site_id=site.id, entity_id=site.entity_id, districts=_districts(rows))


@router.get("/near", response_model=list[NearFreeOut], dependencies=[public()])
async def near(
    request: Request,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    profile: Profile | None = None,
) -> Response:
    """Return the nearest participating sites with distance and free places per district (journey 1)."""
    if not in_kazakhstan(lat, lon):
        raise OutsideKazakhstan(lat=lat, lon=lon)
    return await places.near_answer(request, lat, lon, limit, profile)


@router.post("/applications", response_model=ApplicationOut, status_code=201)
def apply(
    body: ApplicationIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.APPLY_FOR_ATTACHMENT)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Apply: a citizen on the portal for themself or a represented child, a registrar in person (A-50)."""
    channel = Channel.EGOV if actor.role is Role.CITIZEN else Channel.IN_PERSON

    def run() -> tuple[int, dict[str, Any]]:
        app = service.submit(session=session, actor=actor, data=body, channel=channel, now=clock.now())
        return 201, outputs.application_out(session, app, clock.now()).model_dump(mode="json")

    status, payload = run_once(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )
    return _application_response(status, payload)


@router.post("/applications/written", response_model=ApplicationOut, status_code=201)
async def apply_written(
    session: SessionDep,
    actor: Annotated[Actor, require(Can.RECORD_WRITTEN_APPLICATION)],
    application: Annotated[str, Form(description="ApplicationIn as JSON")],
    files: Annotated[list[UploadFile], File(description="Scans, in the order of documents")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a written application with its scanned documents (A-51); it waits in the queue."""
    try:
        body = ApplicationIn.model_validate(json.loads(application))
    except (ValueError, ValidationError) as exc:
        errors = (
            exc.errors()
            if isinstance(exc, ValidationError)
            else [{"type": "json_invalid", "loc": ("body", "application"), "msg": str(exc)}]
        )
        raise RequestValidationError(errors) from None
    uploads = []
    for f in files:
        content = await f.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES or (f.content_type or "") not in UPLOAD_TYPES:
            raise InvalidInput()
        uploads.append(
            service.Upload(file_name=(f.filename or "scan")[:200], content_type=f.content_type or "", content=content)
        )

    def run() -> tuple[int, dict[str, Any]]:
        app = service.submit(
            session=session, actor=actor, data=body, channel=Channel.WRITTEN, uploads=uploads, now=clock.now()
        )
        return 201, outputs.application_out(session, app, clock.now()).model_dump(mode="json")

    fingerprint = {"application": body.model_dump(mode="json"), "files": [u.content.hex()[:64] for u in uploads]}
    # In a worker thread: a retry waiting for the first one's key must not hold up the event loop.
    status, payload = await run_in_threadpool(
        run_once, session=session, actor=actor, key=idempotency_key, payload=fingerprint, run=run
    )
    return _application_response(status, payload)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
def read_application(
    application_id: int,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.READ_APPLICATION)],
) -> JSONResponse:
    """Return an application with its state, deadline, reason and ETag."""
    app = service.get_application(session=session, actor=actor, application_id=application_id, today=clock.today())
    return _application_response(200, outputs.application_out(session, app, clock.now()).model_dump(mode="json"))


@router.get(
    "/applications/{application_id}/documents/{document_id}",
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
def read_scan(
    application_id: int,
    document_id: int,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.READ_APPLICATION_DOCUMENTS)],
) -> Response:
    """Return the scanned file of a document of a written application."""
    app = service.get_application(session=session, actor=actor, application_id=application_id, today=clock.today())
    doc = session.get(ApplicationDocument, document_id)
    if doc is None or doc.application_id != app.id or doc.content is None:
        raise NotFound()
    return Response(
        doc.content,
        media_type=doc.content_type or "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="document-{doc.id}"'},
    )


@router.post("/applications/{application_id}/decision", response_model=ApplicationOut)
def decide(
    application_id: int,
    body: DecisionIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.DECIDE_APPLICATION)],
    if_match: Annotated[str | None, Header()] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Approve or refuse (with a reason code) a queued application; needs If-Match (412 if stale, 428 if absent)."""
    if if_match is None:
        raise PreconditionRequired()

    def run() -> tuple[int, dict[str, Any]]:
        version = outputs.version_from(if_match, "application", application_id)
        app = service.decide(
            session=session,
            actor=actor,
            application_id=application_id,
            expected_version=version,
            data=body,
            now=clock.now(),
        )
        return 200, outputs.application_out(session, app, clock.now()).model_dump(mode="json")

    status, payload = run_once(
        session=session,
        actor=actor,
        key=idempotency_key,
        run=run,
        payload={"application": application_id, "if_match": if_match, "body": body.model_dump(mode="json")},
    )
    return _application_response(status, payload)


@router.get("/queue", response_model=list[ApplicationOut])
def registrar_queue(
    session: SessionDep, actor: Annotated[Actor, require(Can.DECIDE_APPLICATION)]
) -> list[ApplicationOut]:
    """Return the applications of the registrar's entity awaiting a decision, with deadlines (A-52)."""
    now = clock.now()
    return [outputs.application_out(session, a, now) for a in service.queue(session=session, actor=actor)]


@router.get("/me", response_model=MyAttachmentsOut)
def my_attachments(session: LoggedReadSessionDep, actor: Annotated[Actor, require(Can.SEE_OWN_RECORDS)]) -> Response:
    """Return the citizen's attachment, history and applications, and those of the children they represent."""
    # ``service.my_views`` as rows (``service.my_records``), answered with the bytes FastAPI would send for
    # MyAttachmentsOut (tests/api/attachment/test_me.py)
    now = clock.now()
    me, represented = service.my_records(session=session, actor=actor, today=service.local_day(now))
    payload = {
        "me": outputs.person_payload(session, me, now) if me else None,
        "represented": [outputs.person_payload(session, r, now) for r in represented],
    }
    return Response(to_json(payload), media_type="application/json")


@router.get("/persons/{person_id}/outlook", response_model=OutlookOut)
def outlook(person_id: int, session: SessionDep, actor: Annotated[Actor, require(Can.APPLY_ON_PORTAL)]) -> OutlookOut:
    """Tell the applicant, before filing, what an application for herself or a represented child meets today:
    a change outside the campaign needs a valid reason (A-42), a change in it uses the year's quota (A-41)
    and replaces an approved change not yet in effect. A person she does not represent answers 403."""
    view = reasons.outlook(session=session, actor=actor, person_id=person_id, day=clock.today())
    return reasons.outlook_out(view, person_id)


@router.get("/persons/{person_id}", response_model=PersonAttachmentsOut)
async def person_attachments(
    person_id: int,
    request: Request,
    actor: Annotated[Actor, require(Can.READ_PERSON_ATTACHMENTS)],
    purpose: PurposeQuery = None,
    purpose_text: PurposeTextQuery = None,
) -> Response:
    """Return a person's current and upcoming attachment and history; a citizen only their own or a child's;
    staff only their organization's applications, and for a person outside its population only with a stated
    purpose (the read is logged with it)."""
    # Read as rows and answered with the bytes FastAPI would send for PersonAttachmentsOut (outputs.person_json),
    # without validating the answer into the model first (tests/attachment/test_person_json.py). On PostgreSQL on
    # the event loop, its statements batched with other requests' (web/reads.py); elsewhere in a worker thread.
    now = clock.now()
    if actor.role is Role.CITIZEN and actor.person_id is None:
        raise Forbidden()
    why = stated(purpose, purpose_text, "history of attachments")
    today = service.local_day(now)
    reads = async_reads(request)
    if reads is None:

        def read(session: Session) -> bytes:
            record = service.person_record(session=session, actor=actor, person_id=person_id, today=today, purpose=why)
            return outputs.person_json(session, record, now)

        body = await logged_read(request, read)
    else:
        record, event = await attachment_reads.person_record(
            reads=reads, actor=actor, person_id=person_id, today=today, purpose=why
        )
        if outputs.needs_policy(record):  # a refusal's reasoned text names the year's limit
            body = await in_read_only_session(request, lambda session: outputs.person_json(session, record, now))
        else:
            body = outputs.person_json(None, record, now)
        await reads.log([event])  # durable before the answer; nothing logged for a read that failed before
    return Response(body, media_type="application/json")
