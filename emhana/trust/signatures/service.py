"""The signing flow: hand out the bytes to sign, accept a CMS, verify it, store it with its evidence.

Production signing happens in the user's NCALayer (docs/credentials.md §4.2): ``to_sign`` gives the canonical
bytes, NCALayer returns a detached CMS, ``attach_signature`` verifies and stores it. Demo signing
(``sign_record``) does the NCALayer part with the user's PKCS#12 file from ``emhana pki demo``.
Signatures are verified at the kernel clock's now (``at`` overrides it), against the signer's signingTime and
the CRLs' dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.kernel import clock
from emhana.kernel.errors import AlreadySigned, Forbidden, NotFound, WrongSigner
from emhana.trust.keys.certs import load_pkcs12
from emhana.trust.signatures import canonical, reasons
from emhana.trust.signatures.cms import sign_detached, verify_detached
from emhana.trust.signatures.identity import check_signer
from emhana.trust.signatures.models import RecordSignature
from emhana.trust.signatures.records import (
    RecordKind,
    Signable,
    check_may_sign,
    expected_iin,
    kind_of,
    mark_signed,
    signable,
)
from emhana.trust.signatures.truststore import TrustStore


@dataclass(frozen=True)
class ToSign:
    """The exact bytes a record's signer signs, with their hash and the record's signature state."""

    kind: RecordKind
    record_id: int
    canonical: bytes
    sha256: str
    signed: bool


def _existing(session: Session, kind: RecordKind, record_id: int) -> RecordSignature | None:
    return session.scalar(
        select(RecordSignature).where(RecordSignature.record_kind == kind.value, RecordSignature.record_id == record_id)
    )


def signature_of(session: Session, kind: RecordKind, record_id: int) -> RecordSignature | None:
    """Return a record's accepted signature, or None while it is unsigned (for pages, notices, exports)."""
    return _existing(session, kind, record_id)


def _open(session: Session, actor: Actor, kind: RecordKind, record_id: int) -> Signable:
    """Return a record the actor may sign; a record that does not exist is refused like one that is not theirs,
    so that the answer does not tell another organization which records exist."""
    try:
        record = signable(session, kind, record_id)
    except NotFound:
        raise Forbidden() from None
    check_may_sign(actor, record)
    return record


def to_sign(session: Session, actor: Actor, kind: RecordKind, record_id: int, now: dt.datetime | None = None) -> ToSign:
    """Return the canonical bytes of a record for its signer; the read is logged (it holds medical data)."""
    record = _open(session, actor, kind, record_id)
    record_event(
        session=session,
        actor=actor,
        action="signature.to_sign",
        object_type=kind.value,
        object_id=str(record_id),
        subject_person_id=record.subject_person_id,
        purpose="sign",
        now=now,
    )
    return ToSign(
        kind,
        record_id,
        record.canonical,
        canonical.sha256_hex(record.canonical),
        _existing(session, kind, record_id) is not None,
    )


def attach_signature(
    session: Session,
    kind: RecordKind,
    record_id: int,
    cms_der: bytes,
    actor: Actor,
    *,
    trust: TrustStore,
    at: dt.datetime | None = None,
) -> RecordSignature:
    """Verify a detached CMS over the record's canonical bytes and store it with its evidence.

    Idempotent: the same CMS again returns the stored signature; another CMS for a signed record is
    refused (``signature.already_signed``). The record's package marks it signed (``SignableKind.on_signed``:
    a journal entry's ``signature_state`` becomes ``signed``).
    """
    record = _open(session, actor, kind, record_id)
    existing = _existing(session, kind, record_id)
    if existing is not None:
        if existing.cms == cms_der:
            return existing
        raise AlreadySigned()
    evidence = verify_detached(
        record.canonical,
        cms_der,
        anchors=trust.anchors,
        crls=trust.crls,
        intermediates=trust.intermediates,
        gost=trust.gost,
        at=at or clock.now(),
    )
    iin = expected_iin(session, actor, record)
    if iin is None:
        raise WrongSigner(reason=reasons.AUTHOR_WITHOUT_IIN)
    bin_ = None if kind_of(kind).applicant_signs else record.organization_bin  # a person signs for herself
    check_signer(evidence, iin=iin, bin_=bin_)
    row = RecordSignature(
        record_kind=kind.value,
        record_id=record_id,
        canonical_sha256=canonical.sha256_hex(record.canonical),
        cms=cms_der,
        signer_certificate=evidence.signer_certificate,
        signer_iin=evidence.signer_iin,
        signer_bin=evidence.signer_bin,
        signed_at=evidence.signing_time,
        verified_at=evidence.verified_at,
        verifier=evidence.verifier,
        evidence=evidence.to_json(),
        attached_by=actor.account_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # signed meanwhile by a concurrent request
        found = _existing(session, kind, record_id)
        if found is not None and found.cms == cms_der:
            return found
        raise AlreadySigned() from None
    mark_signed(session, kind, record_id)  # e.g. a journal entry's signature_state becomes signed
    record_event(
        session=session,
        actor=actor,
        action="signature.attach",
        object_type=kind.value,
        object_id=str(record_id),
        subject_person_id=record.subject_person_id,
        purpose="sign",
        now=evidence.verified_at,
    )
    return row


def sign_record(
    session: Session, kind: RecordKind, record_id: int, *, pkcs12: bytes, password: str, actor: Actor, trust: TrustStore
) -> RecordSignature:
    """Demo signing: sign the record's canonical bytes with a PKCS#12 key (as NCALayer would), then attach."""
    key, cert, chain = load_pkcs12(pkcs12, password)
    record = _open(session, actor, kind, record_id)
    return attach_signature(
        session, kind, record_id, sign_detached(record.canonical, key, cert, chain), actor, trust=trust
    )
