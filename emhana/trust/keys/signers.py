"""The service's seal keys: the scheme CA and one active document signer (DSC, ES256) per facility, rotated.

`signer_for(session, entity_id)` is what the medical book and the attachment notice call to seal a document:
it returns the facility's active DSC, issuing the first one (and the scheme CA) on first need and a new one
once the active DSC has signed for `trust_rotate_days` (CREDENTIALS.md §6.1: rotated at most yearly; the DSC
stays valid `trust_dsc_days`, longer than any seal it signs). A rotated DSC is *retired*: it signs nothing
new and stays in the trust list until it expires, so its seals still verify. A *revoked* DSC is listed as
revoked: its seals become UNKNOWN_ISSUER (§6.4, mass revocation on key compromise).
"""

from __future__ import annotations

import datetime as dt
import threading

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.facilities.models import Entity
from emhana.kernel.config import get_settings
from emhana.kernel.errors import NotFound
from emhana.trust.keys import pki
from emhana.trust.keys import wrap as keys
from emhana.trust.models import DocumentSigner, SchemeAuthority
from emhana.trust.seals.cose import kid_of
from emhana.trust.seals.kzmb1 import SealSigner

ACTIVE, RETIRED, REVOKED = "active", "retired", "revoked"
# A new certificate starts a little in the past so that a seal issued at once passes `DSC.notBefore <= iat`.
BACKDATE = dt.timedelta(minutes=5)
SCHEME_DAYS = 3650

_cache: dict[tuple[str, str], SealSigner | pki.Issued] = {}
_cache_lock = threading.Lock()


def utc(moment: dt.datetime) -> dt.datetime:
    """Return an aware UTC datetime (SQLite gives back naive ones)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def now_utc() -> dt.datetime:
    """Return the current instant."""
    return dt.datetime.now(dt.UTC)


def _secret() -> str:
    return get_settings().secret_key


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def active_scheme(session: Session) -> SchemeAuthority | None:
    """Return the active scheme CA row, or None before `emhana trust init`."""
    return session.scalar(select(SchemeAuthority).where(SchemeAuthority.active_slot == 1))


def ensure_scheme(session: Session, *, now: dt.datetime | None = None) -> SchemeAuthority:
    """Return the active scheme CA, creating it on first need (one, even under concurrent creation)."""
    found = active_scheme(session)
    if found is not None:
        return found
    issued = pki.make_scheme_ca(not_before=(now or now_utc()) - BACKDATE, days=SCHEME_DAYS)
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    der = _der(issued.certificate)
    kid = kid_of(der)
    wrap, blob = keys.encrypt_key(issued.key, secret=_secret(), kid=kid)
    row = SchemeAuthority(
        kid=kid.hex(),
        certificate=der,
        key_ciphertext=blob,
        key_wrap=wrap,
        status=ACTIVE,
        active_slot=1,
        created_at=now or now_utc(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # created meanwhile by a concurrent request: use theirs
        found = active_scheme(session)
        if found is None:
            raise
        return found
    return row


def scheme_certificate(row: SchemeAuthority) -> x509.Certificate:
    """Return the scheme CA certificate (the anchor verifiers pin)."""
    return x509.load_der_x509_certificate(row.certificate)


def scheme_issued(row: SchemeAuthority) -> pki.Issued:
    """Return the scheme CA key and certificate (decrypted; cached per row)."""
    ident = ("ca", f"{row.id}:{row.kid}")
    with _cache_lock:
        cached = _cache.get(ident)
    if isinstance(cached, pki.Issued):
        return cached
    key = keys.decrypt_key(row.key_ciphertext, wrap=row.key_wrap, secret=_secret(), kid=bytes.fromhex(row.kid))
    issued = pki.Issued(key, scheme_certificate(row))
    with _cache_lock:
        _cache[ident] = issued
    return issued


def active_dsc(session: Session, entity_id: int) -> DocumentSigner | None:
    """Return the facility's active DSC row, or None."""
    return session.scalar(select(DocumentSigner).where(DocumentSigner.active_entity_id == entity_id))


def dscs_of_kid(session: Session, kid: bytes) -> list[DocumentSigner]:
    """Return every DSC row with this kid (kids may collide, §1.3)."""
    return list(session.scalars(select(DocumentSigner).where(DocumentSigner.kid == kid.hex())))


def signer_of(row: DocumentSigner) -> SealSigner:
    """Return the seal signer of a DSC row (the key decrypted once per process and row)."""
    ident = ("dsc", f"{row.id}:{row.kid}")
    with _cache_lock:
        cached = _cache.get(ident)
    if isinstance(cached, SealSigner):
        return cached
    key = keys.decrypt_key(row.key_ciphertext, wrap=row.key_wrap, secret=_secret(), kid=bytes.fromhex(row.kid))
    signer = SealSigner.of(key, x509.load_der_x509_certificate(row.certificate))
    with _cache_lock:
        _cache[ident] = signer
    return signer


def rotate(session: Session, entity_id: int, *, now: dt.datetime | None = None) -> DocumentSigner:
    """Issue a new DSC for the facility and retire the active one (it keeps verifying until it expires)."""
    from emhana.trust.lists import publish

    moment = now or now_utc()
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
            der = _der(issued.certificate)
            kid = kid_of(der)
            wrap, blob = keys.encrypt_key(issued.key, secret=_secret(), kid=kid)
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
    moment = now or now_utc()
    row = active_dsc(session, entity_id)
    if row is None or due_for_rotation(row, moment):
        row = rotate(session, entity_id, now=moment)
    return signer_of(row)


def revoke_dsc(session: Session, kid: bytes, *, now: dt.datetime | None = None) -> list[DocumentSigner]:
    """Revoke every DSC with this kid (key compromise): its seals become UNKNOWN_ISSUER once the list is synced."""
    from emhana.trust.lists import publish

    moment = now or now_utc()
    rows = dscs_of_kid(session, kid)
    if not rows:
        raise NotFound()
    for row in rows:
        row.status, row.active_entity_id, row.status_at = REVOKED, None, moment
    session.flush()
    publish.changed(session, now=moment)
    return rows


def entity_by_bin(session: Session, bin_: str) -> Entity:
    """Return the entity with this BIN; raise NotFound."""
    entity = session.scalar(select(Entity).where(Entity.bin == bin_))
    if entity is None:
        raise NotFound()
    return entity
