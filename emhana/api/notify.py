"""Routes of notifications: the attachment notice for the person and the deciding entity (A-54, A-100),
and the Fund's view of the outbox with a delivery trigger."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment.application import service as attachment_service
from emhana.attachment.notice import issue as notice
from emhana.attachment.notice.models import AttachmentNotice
from emhana.attachment.notice.signer import NotificationSigner, Signature, default_signer
from emhana.kernel import clock
from emhana.notify import service
from emhana.notify.outbox import DeliveryState
from emhana.web.deps import SessionDep, require
from emhana.web.idempotency import idempotent_json

router = APIRouter(tags=["notifications"])
NoticeReader = Annotated[Actor, require(Can.READ_NOTICE)]
OutboxOperator = Annotated[Actor, require(Can.OPERATE_OUTBOX)]


def get_signer() -> NotificationSigner:
    """Return the signer of notices (overridable in tests and deployments)."""
    return default_signer()


SignerDep = Annotated[NotificationSigner, Depends(get_signer)]


def notice_for(
    *, session: Session, actor: Actor, application_id: int, signer: NotificationSigner, now: dt.datetime
) -> AttachmentNotice:
    """Return the notice of an application the actor may read: the person, their representative, or the
    registrar of the deciding entity (A-100)."""
    attachment_service.get_application(
        session=session, actor=actor, application_id=application_id, today=clock.kz_date(now)
    )
    return notice.ensure_notice(session, application_id=application_id, signer=signer, now=now)


class NotificationOut(BaseModel):
    """An outbox row as the Fund sees it: no address, no message parameters."""

    id: int
    recipient_kind: str
    recipient_id: int
    channel: str
    language: str
    template: str
    state: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None


class DeliveryOut(BaseModel):
    sent: int
    failed: int
    skipped: int


@router.get(
    "/attachment/applications/{application_id}/notice.pdf", responses={200: {"content": {"application/pdf": {}}}}
)
def notice_pdf(application_id: int, session: SessionDep, actor: NoticeReader, signer: SignerDep) -> Response:
    """Return the attachment notification or reasoned refusal of a decided application as PDF (A-54)."""
    row = notice_for(session=session, actor=actor, application_id=application_id, signer=signer, now=clock.now())
    data = notice.document(session, row)  # the copy that states the organization's signature once it is signed
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="notice-{row.number}.pdf"',
            "X-Signature-Status": row.signature_status,
            "Digest": f"sha-256={hashlib.sha256(data).hexdigest()}",
        },
    )


@router.get("/attachment/applications/{application_id}/notice.sig")
def notice_signature(
    application_id: int, session: SessionDep, actor: NoticeReader, signer: SignerDep
) -> dict[str, Any]:
    """Return the detached signature of an application's notice, with the signer certificate."""
    row = notice_for(session=session, actor=actor, application_id=application_id, signer=signer, now=clock.now())
    sig = Signature.from_json(row.signature)
    cms = notice.cms_of(session, row)
    return {
        "number": row.number,
        "sha256": row.sha256,
        "status": row.signature_status,
        "format": sig.format,
        "algorithm": sig.algorithm,
        "value": sig.value,
        "certificate_pem": sig.certificate_pem,
        "qualified": sig.qualified,
        "cms_signed_at": cms.signed_at.isoformat() if cms else None,
        "cms_signer_bin": cms.signer_bin if cms else None,
    }


@router.get("/notify/outbox", response_model=list[NotificationOut], dependencies=[require(Can.OPERATE_OUTBOX)])
def outbox(
    session: SessionDep, state: DeliveryState | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[NotificationOut]:
    """List the outbox, newest first, optionally of one state (pending, sent, failed)."""
    return [
        NotificationOut.model_validate(r, from_attributes=True)
        for r in service.list_outbox(session, state=state.value if state else None, limit=limit)
    ]


@router.post("/notify/deliver", response_model=DeliveryOut)
def deliver(
    request: Request,
    session: SessionDep,
    actor: OutboxOperator,
    signer: SignerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Deliver the due messages now through the configured channels (log; SMTP when EMHANA_SMTP_HOST is set)."""

    def run() -> tuple[int, dict[str, Any]]:
        report = service.deliver_pending(
            session,
            channels=service.channels_from(request.app.state.settings),
            now=clock.now(),
            limit=limit,
            signer=signer,
        )
        return 200, DeliveryOut(sent=report.sent, failed=report.failed, skipped=report.skipped).model_dump()

    return idempotent_json(session=session, actor=actor, key=idempotency_key, payload={"limit": limit}, run=run)
