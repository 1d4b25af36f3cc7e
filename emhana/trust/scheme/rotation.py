"""Issuing, rotating and revoking facilities' document signers; every change re-signs the published lists.

`signer_for(session, entity_id)` is what the medical book and the attachment notice call (through
`emhana.trust.scheme.issue`) to seal a document: it returns the facility's active DSC, issuing the first one
(and the scheme CA) on first need and a new one once the active DSC has signed for `trust_rotate_days`
(docs/credentials.md §6.1: rotated at most yearly; the DSC stays valid `trust_dsc_days`, longer than any seal it
signs). The keys as stored are `signers`; the lists are `emhana.trust.scheme.publish`.
"""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.facilities.models import Entity
from emhana.kernel import clock
from emhana.kernel.config import get_settings
from emhana.kernel.errors import NotFound
from emhana.trust.keys import pki
from emhana.trust.keys import wrap as keys
from emhana.trust.keys.es256 import kid_of
from emhana.trust.models import DocumentSigner
from emhana.trust.scheme import publish
from emhana.trust.scheme.signers import (
    ACTIVE,
    BACKDATE,
    RETIRED,
    REVOKED,
    active_dsc,
    dscs_of_kid,
    ensure_scheme,
    scheme_issued,
    signer_of,
    utc,
    wrap_secret,
)
from emhana.trust.seals.kzmb1 import SealSigner


def rotate(session: Session, entity_id: int, *, now: dt.datetime | None = None) -> DocumentSigner:
    """Issue a new DSC for the facility and retire the active one (it keeps verifying until it expires)."""
    moment = now or clock.now()
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound()
    scheme = ensure_scheme(session, now=moment)
    settings = get_settings()
    try:
        with session.begin_nested():
            old = active_dsc(session, entity_id)
            if old is not None:
                old.status, old.active_entity_id, old.status_at = RETIRED, None, moment
                session.flush()
            number = (
                session.scalar(select(func.max(DocumentSigner.number)).where(DocumentSigner.entity_id == entity_id))
                or 0
            ) + 1
            issued = pki.make_dsc(
                scheme_issued(scheme),
                facility_name=entity.name_ru,
                bin_=entity.bin,
                not_before=moment - BACKDATE,
                days=settings.trust_dsc_days,
                number=number,
            )
            assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
            der = issued.certificate.public_bytes(serialization.Encoding.DER)
            kid = kid_of(der)
            wrap, blob = keys.encrypt_key(issued.key, secret=wrap_secret(), kid=kid)
            row = DocumentSigner(
                entity_id=entity_id,
                scheme_ca_id=scheme.id,
                bin=entity.bin,
                number=number,
                kid=kid.hex(),
                certificate=der,
                key_ciphertext=blob,
                key_wrap=wrap,
                status=ACTIVE,
                active_entity_id=entity_id,
                not_before=issued.certificate.not_valid_before_utc,
                not_after=issued.certificate.not_valid_after_utc,
                created_at=moment,
            )
            session.add(row)
    except IntegrityError:  # rotated meanwhile by a concurrent request: use theirs
        found = active_dsc(session, entity_id)
        if found is None:
            raise
        return found
    publish.changed(session, now=moment)
    return row


def due_for_rotation(row: DocumentSigner, now: dt.datetime) -> bool:
    """Tell whether the active DSC has signed long enough (or is too close to its end) to be replaced."""
    settings = get_settings()
    signed_for = now - utc(row.created_at)
    left = utc(row.not_after) - now
    return signed_for >= dt.timedelta(days=settings.trust_rotate_days) or left <= dt.timedelta(
        days=settings.trust_dsc_days - settings.trust_rotate_days
    )


def signer_for(session: Session, entity_id: int, *, now: dt.datetime | None = None) -> SealSigner:
    """Return the facility's seal signer: its active DSC, issued or rotated on need (§6.1)."""
    moment = now or clock.now()
    row = active_dsc(session, entity_id)
    if row is None or due_for_rotation(row, moment):
        row = rotate(session, entity_id, now=moment)
    return signer_of(row)


def revoke_dsc(session: Session, kid: bytes, *, now: dt.datetime | None = None) -> list[DocumentSigner]:
    """Revoke every DSC with this kid (key compromise): its seals become UNKNOWN_ISSUER once the list is synced."""
    moment = now or clock.now()
    rows = dscs_of_kid(session, kid)
    if not rows:
        raise NotFound()
    for row in rows:
        row.status, row.active_entity_id, row.status_at = REVOKED, None, moment
    session.flush()
    publish.changed(session, now=moment)
    return rows
