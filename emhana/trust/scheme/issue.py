"""Issuing seals through the service, the register of issued seals, and revoking or superseding them (§6.5).

Every seal issued here is registered by its two hashes (SHA-256(kid ‖ cti)[:16] and SHA-256(r)[:16]), never by
a person: the revocation list is built from the rows whose status is not "valid". A correction supersedes the
previous seal version; a seal issued wrongly is revoked (reason "revoked" or "issued-in-error").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.facilities.models import Entity
from emhana.kernel import clock
from emhana.kernel.errors import Forbidden, SealMalformed, SealUnknown
from emhana.trust.lists.revocation import Reason, cti_hash
from emhana.trust.models import DocumentSigner, IssuedSeal
from emhana.trust.scheme import publish
from emhana.trust.scheme.rotation import signer_for
from emhana.trust.scheme.signers import active_dsc, dscs_of_kid, signer_of, utc
from emhana.trust.seals import cose, cwt
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.hashes import signature_hash

VALID = "valid"
# Strength of a status: a revoked seal is never brought back to superseded or valid.
RANK = {
    VALID: 0,
    Reason.SUPERSEDED.value: 1,
    Reason.SUSPENDED.value: 2,
    Reason.ISSUED_IN_ERROR.value: 2,
    Reason.REVOKED.value: 2,
}


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def register(session: Session, text: str, *, dsc: DocumentSigner, reference: str | None = None) -> IssuedSeal:
    """Register an issued seal by its hashes (idempotent: a seal already registered is returned)."""
    message = cose.decode_sign1(seal.decode_transport(text))
    claims = cwt.read_claims(cose.loads_strict(message.payload))
    kid = message.kid or b""
    cti = cti_hash(kid, claims.cti)
    found = session.scalar(select(IssuedSeal).where(IssuedSeal.kid == kid.hex(), IssuedSeal.cti_hash == cti))
    if found is not None:
        return found
    row = IssuedSeal(
        dsc_id=dsc.id,
        kid=kid.hex(),
        cti_hash=cti,
        signature_hash=signature_hash(message),
        record_type=claims.record_type,
        reference=reference,
        issued_at=_at(claims.issued_at),
        expires_at=_at(claims.expires_at),
        status=VALID,
    )
    session.add(row)
    session.flush()
    return row


def _active_row(session: Session, entity_id: int) -> DocumentSigner:
    row = active_dsc(session, entity_id)
    assert row is not None
    return row


def issue_clearance(
    session: Session,
    *,
    entity_id: int,
    clearance: cwt.Clearance,
    expires_at: dt.datetime,
    reference: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Issue and register the medical-book seal of a clearance by the facility's active DSC (§6.3)."""
    moment = now or clock.now()
    signer = signer_for(session, entity_id, now=moment)
    until = min(expires_at, signer.certificate.not_valid_after_utc)  # §6.5: exp <= DSC notAfter
    text = seal.issue(clearance, signer=signer, issued_at=moment, expires_at=until)
    if reference is None and clearance.record_hash is not None:
        reference = record_reference(clearance.record_hash)
    register(session, text, dsc=_active_row(session, entity_id), reference=reference)
    return text


def record_reference(record_hash: bytes) -> str:
    """Return the register reference of the seals of one clearance record (its §6.3 key-8 hash)."""
    return "rh:" + record_hash.hex()


class DatabaseSealIssuer:
    """The medical book's seal issuer backed by the facilities' DSCs in the database (emhana.medbook.seal)."""

    def issue(
        self, session: Session, entity: Entity, clearance: cwt.Clearance, *, expires_at: dt.datetime, now: dt.datetime
    ) -> str | None:
        """Return the seal of the clearance by the facility's active DSC, or None when it would already be over."""
        if expires_at <= now:
            return None
        return issue_clearance(session, entity_id=entity.id, clearance=clearance, expires_at=expires_at, now=now)


def supersede_reference(
    session: Session,
    *,
    reference: str,
    replacement: str | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Mark every valid seal registered under a reference superseded (a corrected record, §6.5, C-41);
    return how many. With `replacement` (the new seal's text) each is linked to it."""
    moment = now or clock.now()
    newer = ours(session, replacement)[1] if replacement is not None else None
    rows = list(
        session.scalars(select(IssuedSeal).where(IssuedSeal.reference == reference, IssuedSeal.status == VALID))
    )
    count = 0
    for row in rows:
        if newer is not None and row.id == newer.id:
            continue
        row.superseded_by_id = newer.id if newer is not None else None
        count += _set(row, Reason.SUPERSEDED.value, actor=actor, now=moment)
    if count:
        publish.changed(session, now=moment)
    return count


def suspend_reference(
    session: Session, *, reference: str, actor: Actor | None = None, now: dt.datetime | None = None
) -> int:
    """Revoke with the reason "suspended" every seal registered under a reference that is valid or superseded
    (the clearance it states was suspended, C-30); return how many. A verifier then says "clearance suspended"."""
    moment = now or clock.now()
    rows = list(
        session.scalars(
            select(IssuedSeal).where(
                IssuedSeal.reference == reference, IssuedSeal.status.in_([VALID, Reason.SUPERSEDED.value])
            )
        )
    )
    count = sum(_set(row, Reason.SUSPENDED.value, actor=actor, now=moment) for row in rows)
    if count:
        publish.changed(session, now=moment)
    return count


def issue_notice(
    session: Session,
    *,
    entity_id: int,
    notice: cwt.Notice,
    now: dt.datetime | None = None,
    valid_for: dt.timedelta = dt.timedelta(days=365),
) -> str:
    """Issue and register the organization's seal of an attachment notice (A-54), valid a year at most."""
    moment = now or clock.now()
    signer = signer_for(session, entity_id, now=moment)
    until = min(moment + valid_for, signer.certificate.not_valid_after_utc)
    text = seal.issue_notice(notice, signer=signer, issued_at=moment, expires_at=until)
    register(session, text, dsc=_active_row(session, entity_id), reference=notice.number)
    return text


def ours(session: Session, text: str) -> tuple[DocumentSigner, IssuedSeal]:
    """Return the DSC that signed a seal of this service and its register row (registered now if missing).

    Raise SealMalformed for a text that is not a seal and SealUnknown when no DSC of ours signed it.
    """
    message = cose.decode_sign1(seal.decode_transport(text.strip()))
    cwt.read_claims(cose.loads_strict(message.payload))
    kid = message.kid or b""
    for dsc in dscs_of_kid(session, kid):
        if message.alg == cose.ALG_ES256 and cose.verify_signature(message, signer_of(dsc).key.public_key()):
            return dsc, register(session, text.strip(), dsc=dsc)
    raise SealUnknown()


def _authorise(actor: Actor | None, dsc: DocumentSigner) -> None:
    """Admit the Fund (the scheme operator) for any seal, and the issuing facility's staff who may manage seals
    (``Can.MANAGE_SEALS``) for its own seals."""
    if actor is None or actor.role == Role.FUND_ADMIN:
        return
    if not may(actor.role, Can.MANAGE_SEALS) or actor.entity_id != dsc.entity_id:
        raise Forbidden()


def _set(row: IssuedSeal, status: str, *, actor: Actor | None, now: dt.datetime) -> bool:
    """Raise a seal's status (never lower it); tell whether it changed."""
    if RANK[status] <= RANK[row.status]:
        return False
    row.status, row.status_at = status, now
    row.status_by = actor.account_id if actor else None
    return True


def revoke(
    session: Session, *, text: str, reason: Reason = Reason.REVOKED, actor: Actor | None, now: dt.datetime | None = None
) -> IssuedSeal:
    """Revoke a seal of this service (reason revoked or issued-in-error) and re-sign the revocation list."""
    if reason == Reason.SUPERSEDED:
        raise SealMalformed(reason="use supersede for a corrected seal")
    moment = now or clock.now()
    dsc, row = ours(session, text)
    _authorise(actor, dsc)
    if _set(row, reason.value, actor=actor, now=moment):
        publish.changed(session, now=moment)
    return row


def supersede(
    session: Session, *, text: str, replacement: str, actor: Actor | None, now: dt.datetime | None = None
) -> IssuedSeal:
    """Mark a seal superseded by its corrected version (§6.5: new cti, rv + 1), both of the same facility."""
    moment = now or clock.now()
    dsc, row = ours(session, text)
    _authorise(actor, dsc)
    new_dsc, new_row = ours(session, replacement)
    if new_dsc.entity_id != dsc.entity_id or new_row.id == row.id or new_row.record_type != row.record_type:
        raise SealMalformed(reason="the replacement is not a newer seal of the same facility and kind")
    row.superseded_by_id = new_row.id
    if _set(row, Reason.SUPERSEDED.value, actor=actor, now=moment):
        publish.changed(session, now=moment)
    return row


def describe(row: IssuedSeal) -> dict[str, object]:
    """Return a register row as the API shows it: hashes and status, nothing about a person."""
    return {
        "kid": row.kid,
        "cti_hash": row.cti_hash.hex(),
        "signature_hash": row.signature_hash.hex(),
        "record_type": row.record_type,
        "status": row.status,
        "status_at": utc(row.status_at).isoformat() if row.status_at else None,
        "issued_at": utc(row.issued_at).isoformat(),
        "expires_at": utc(row.expires_at).isoformat(),
    }
