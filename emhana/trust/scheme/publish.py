"""The published trust list and revocation list, rebuilt from the database and kept signed in it (§6.4, §6.5).

Each list is stored with its sequence number, issue time and a digest of its content. A change of the signer
set (rotation, revocation of a DSC) or of the seal statuses calls `changed`, which re-signs the lists whose
content differs with the next sequence number. A list older than half its max-age is re-signed on read
(again with the next sequence number, since verifiers refuse a list that does not advance it). Verifying
uses the published documents themselves, loaded as an offline verifier would, cached per sequence numbers.

A read on a read-only unit of work (the routes that only read, with read replicas configured;
docs/replicas.md) never writes in it: the first publication, a re-signing and the scheme CA's creation go
to the primary in a unit of work of their own (``primary_writer``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.kernel import clock
from emhana.kernel.replicas import primary_writer
from emhana.trust.keys.certs import load_certificate, subject_organization
from emhana.trust.lists import revocation, trustlist
from emhana.trust.lists.revocation import Reason, Revocation
from emhana.trust.lists.trustlist import TrustContext, TrustListSigner
from emhana.trust.models import DocumentSigner, IssuedSeal, PublishedList, SchemeAuthority
from emhana.trust.scheme.signers import (
    RETIRED,
    REVOKED,
    active_scheme,
    ensure_scheme,
    scheme_certificate,
    scheme_issued,
    utc,
)
from emhana.trust.seals import verifier

TRUST, REVOCATIONS = "trust", "revocation"
MAX_AGE = {TRUST: trustlist.DEFAULT_MAX_AGE, REVOCATIONS: revocation.DEFAULT_MAX_AGE}
RECORD_TYPES = ("medbook.clearance", "attachment.notification")

_contexts: dict[tuple[str, int, int], TrustContext] = {}
_contexts_lock = threading.Lock()


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _trust_signers(session: Session, now: dt.datetime) -> list[tuple[DocumentSigner, str]]:
    """Return the DSCs to publish: every one not yet expired, with its status (§6.4)."""
    rows = session.scalars(select(DocumentSigner).order_by(DocumentSigner.id))
    return [(r, r.status) for r in rows if utc(r.not_after) > now]


def _revocations(session: Session, now: dt.datetime) -> list[Revocation]:
    """Return the listed seal versions: every one not valid and not yet expired (hashes only, §6.5)."""
    rows = session.scalars(select(IssuedSeal).where(IssuedSeal.status != "valid").order_by(IssuedSeal.id))
    return [
        Revocation(
            bytes.fromhex(r.kid), (r.cti_hash, r.signature_hash), Reason(r.status), utc(r.status_at or r.issued_at)
        )
        for r in rows
        if utc(r.expires_at) > now
    ]


def _content(
    session: Session, name: str, scheme: SchemeAuthority, now: dt.datetime
) -> tuple[str, Callable[[int], dict[str, str]]]:
    """Return the digest of a list's content and a function that signs it with a sequence number."""
    ca = scheme_issued(scheme)
    assert isinstance(ca.key, ec.EllipticCurvePrivateKey)
    key, cert = ca.key, ca.certificate
    if name == TRUST:
        signers = _trust_signers(session, now)
        digest = _digest([scheme.kid, *[(r.kid, r.id, status) for r, status in signers]])
        entries = [
            TrustListSigner(
                load_certificate(r.certificate),
                _facility_name(r),
                RECORD_TYPES,
                status if status in (RETIRED, REVOKED) else trustlist.STATUS_ACTIVE,
            )
            for r, status in signers
        ]
        return digest, lambda seq: trustlist.build_trust_list(
            entries, ca_key=key, ca_certificate=cert, sequence=seq, issued_at=now
        )
    items = _revocations(session, now)
    digest = _digest([scheme.kid, *[(r.kid.hex(), [h.hex() for h in r.hashes], r.reason.value) for r in items]])
    return digest, lambda seq: revocation.build_revocation_list(
        items, ca_key=key, ca_certificate=cert, sequence=seq, issued_at=now
    )


def _facility_name(row: DocumentSigner) -> str:
    return subject_organization(load_certificate(row.certificate)) or row.bin


def refresh(session: Session, name: str, *, now: dt.datetime | None = None, force: bool = False) -> PublishedList:
    """Re-sign a list with the next sequence number when its content changed, it is half-way stale, or forced."""
    moment = now or clock.now()
    scheme = ensure_scheme(session, now=moment)
    row = session.get(PublishedList, name)
    digest, sign = _content(session, name, scheme, moment)
    if row is not None and row.digest == digest and not force and not _ageing(row, moment):
        return row
    sequence = (row.sequence if row is not None else 0) + 1
    document = json.dumps(sign(sequence), indent=1)
    if row is None:
        try:
            with session.begin_nested():
                row = PublishedList(name=name, sequence=sequence, issued_at=moment, digest=digest, document=document)
                session.add(row)
        except IntegrityError:  # published meanwhile by a concurrent request
            found = session.get(PublishedList, name)
            if found is None:
                raise
            return found
        return row
    session.execute(
        update(PublishedList)
        .where(PublishedList.name == name, PublishedList.sequence == row.sequence)
        .values(sequence=sequence, issued_at=moment, digest=digest, document=document)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)  # ours, or the one a concurrent request published first
    return row


def _ageing(row: PublishedList, now: dt.datetime) -> bool:
    return now - utc(row.issued_at) > MAX_AGE[row.name] / 2


def changed(session: Session, *, now: dt.datetime | None = None) -> None:
    """Re-sign whichever list's content has changed (call after any change of signers or seal statuses)."""
    session.flush()
    for name in (TRUST, REVOCATIONS):
        refresh(session, name, now=now)


def current(session: Session, name: str, *, now: dt.datetime | None = None) -> PublishedList:
    """Return the list as published, publishing or re-signing it first when needed."""
    row = session.get(PublishedList, name)
    moment = now or clock.now()
    if row is None or _ageing(row, moment):
        writer = primary_writer(session)
        if writer is not None:  # a read-only unit of work: publish on the primary (module docstring)
            with writer() as primary:
                return refresh(primary, name, now=moment)
        return refresh(session, name, now=moment)
    return row


def _scheme(session: Session, now: dt.datetime | None) -> SchemeAuthority:
    """Return the active scheme CA, created first when there is none (on the primary for a read-only session)."""
    found = active_scheme(session)
    if found is not None:
        return found
    writer = primary_writer(session)
    if writer is not None:
        with writer() as primary:
            return ensure_scheme(primary, now=now)
    return ensure_scheme(session, now=now)


def anchor_pem(session: Session, *, now: dt.datetime | None = None) -> bytes:
    """Return the scheme CA certificate as PEM: the anchor that verifiers pin."""
    from cryptography.hazmat.primitives import serialization

    return scheme_certificate(_scheme(session, now)).public_bytes(serialization.Encoding.PEM)


def context(session: Session, *, now: dt.datetime | None = None) -> TrustContext:
    """Return the trust context of the published lists, verified against the anchor (cached per sequence)."""
    moment = now or clock.now()
    # Fast path: one column-only read tells whether the cached context is still the published one.
    active_kid = select(SchemeAuthority.kid).where(SchemeAuthority.active_slot == 1).scalar_subquery()
    rows = session.execute(
        select(PublishedList.name, PublishedList.sequence, PublishedList.issued_at, active_kid)
    ).all()
    kid = rows[0][3] if rows else None
    heads = {name: (seq, utc(at)) for name, seq, at, _kid in rows}
    if kid is not None and all(n in heads and moment - heads[n][1] <= MAX_AGE[n] / 2 for n in (TRUST, REVOCATIONS)):
        with _contexts_lock:
            found = _contexts.get((kid, heads[TRUST][0], heads[REVOCATIONS][0]))
        if found is not None:
            return found
    scheme = _scheme(session, moment)
    trust_row, revocation_row = current(session, TRUST, now=moment), current(session, REVOCATIONS, now=moment)
    ident = (scheme.kid, trust_row.sequence, revocation_row.sequence)
    anchor = scheme_certificate(scheme)
    loaded = trustlist.load_trust_list(trust_row.document.encode(), anchor)
    loaded = revocation.with_revocation_list(loaded, revocation_row.document.encode(), anchor)
    with _contexts_lock:
        if len(_contexts) > 16:
            _contexts.clear()
        _contexts[ident] = loaded
    return loaded


def verify_text(session: Session, text: str, *, now: dt.datetime | None = None) -> verifier.Result:
    """Verify a seal text against the service's current trust and revocation lists (§6.6)."""
    moment = now or clock.now()
    return verifier.verify(text.strip(), context(session, now=moment), moment)
