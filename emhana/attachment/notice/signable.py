"""The attachment notice as a signable record: registered with the trust layer when attachment is imported (A-54)."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.attachment.models import Application
from emhana.attachment.notice.models import AttachmentNotice
from emhana.facilities.models import Entity
from emhana.kernel.errors import NotFound
from emhana.trust.signatures import canonical
from emhana.trust.signatures.records import RecordKind, Signable, SignableKind, register


def load_notice(session: Session, record_id: int) -> Signable:
    """Return a notice's signable view: the canonical form of its facts and the hash of its PDF."""
    notice = session.get(AttachmentNotice, record_id)
    if notice is None:
        raise NotFound()
    app = session.get(Application, notice.application_id)
    entity = session.get(Entity, app.entity_id) if app else None
    assert app is not None and entity is not None
    data = canonical.notification_form(
        number=notice.number,
        application_id=app.id,
        kind=notice.kind,
        language=notice.language,
        issued_at=notice.issued_at.isoformat(),
        content=json.loads(notice.content),
        pdf_sha256=notice.sha256,
    )
    return Signable(RecordKind.ATTACHMENT_NOTICE, notice.id, data, entity.id, entity.bin, None, app.person_id)


# The deciding organization's head or registrar signs the notice.
register(SignableKind(kind=RecordKind.ATTACHMENT_NOTICE, load=load_notice, signers=Can.SIGN_NOTICE, author_signs=False))
