"""A later decision replaces the attachment notices before it (A-54, §6.5): their seals read SUPERSEDED.

An attachment notice says "attached to this site from this day". Once a later decision opens another attachment
of the same person (an approved application, a transfer, a redistribution), the earlier notice no longer tells
where the person is attached: its seal is marked superseded in the register and the revocation list is re-signed,
as a corrected medical-book record does to its earlier seal (emhana.medbook.seal.withdraw). A refusal notice is a
true account of its own application and is left as it is.

Notices are issued on first need, so an earlier notice may be issued only after the decision that replaced it:
``if_replaced`` marks it superseded at issue.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from emhana.attachment.models import Application, Attachment
from emhana.attachment.notice.models import AttachmentNotice
from emhana.trust.models import IssuedSeal
from emhana.trust.scheme import issue as seals
from emhana.trust.seals.cwt import RECORD_TYPE_NOTICE

ATTACHMENT = "attachment"


def sealed(person_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Return the SQL condition: some attachment notice of the person has a valid seal (``earlier`` has work)."""
    return (
        select(IssuedSeal.id)
        .where(
            IssuedSeal.record_type == RECORD_TYPE_NOTICE,
            IssuedSeal.status == seals.VALID,
            IssuedSeal.reference.in_(
                select(AttachmentNotice.number)
                .join(Application, Application.id == AttachmentNotice.application_id)
                .where(Application.person_id == person_id, AttachmentNotice.kind == ATTACHMENT)
            ),
        )
        .exists()
    )


def earlier(session: Session, *, person_id: int, keep_application: int | None, now: dt.datetime) -> int:
    """Mark superseded the seals of a person's attachment notices other than the new decision's; return how many.

    One read on the decision's path: the valid notice seals of the person (by the register's reference index)."""
    numbers = (
        select(AttachmentNotice.number)
        .join(Application, Application.id == AttachmentNotice.application_id)
        .where(Application.person_id == person_id, AttachmentNotice.kind == ATTACHMENT)
    )
    if keep_application is not None:
        numbers = numbers.where(AttachmentNotice.application_id != keep_application)
    references = session.scalars(
        select(IssuedSeal.reference)
        .where(
            IssuedSeal.record_type == RECORD_TYPE_NOTICE,
            IssuedSeal.reference.in_(numbers),
            IssuedSeal.status == seals.VALID,
        )
        .distinct()
    ).all()
    return sum(seals.supersede_reference(session, reference=ref, now=now) for ref in references if ref is not None)


def if_replaced(session: Session, *, notice: AttachmentNotice, app: Application, now: dt.datetime) -> int:
    """Mark a just-issued attachment notice superseded when a later attachment of its person exists; return
    how many seals."""
    if notice.kind != ATTACHMENT:
        return 0
    own = select(Attachment.id).where(Attachment.application_id == app.id).scalar_subquery()
    later = session.scalar(
        select(Attachment.id).where(Attachment.person_id == app.person_id, Attachment.id > own).limit(1)
    )
    if later is None:
        return 0
    return seals.supersede_reference(session, reference=notice.number, now=now)
