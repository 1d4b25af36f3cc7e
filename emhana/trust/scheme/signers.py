"""The service's seal keys: the scheme CA and the facilities' document signers (DSC, ES256), as stored.

The scheme CA is created once (`ensure_scheme`); each facility has at most one *active* DSC (`active_dsc`),
whose key is kept encrypted by `wrap` and decrypted once per process (`signer_of`). Issuing, rotating and
revoking DSCs is `rotation` (each change re-signs the published lists). A rotated DSC is *retired*: it signs
nothing new and stays in the trust list until it expires, so its seals still verify. A *revoked* DSC is listed
as revoked: its seals become UNKNOWN_ISSUER (docs/credentials.md §6.4, mass revocation on key compromise).
"""

from __future__ import annotations

import datetime as dt
import threading

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emhana.facilities.models import Entity
from emhana.kernel import clock
from emhana.kernel.config import get_settings
from emhana.kernel.errors import NotFound
from emhana.trust.keys import pki
from emhana.trust.keys import wrap as keys
from emhana.trust.keys.es256 import kid_of
from emhana.trust.models import DocumentSigner, SchemeAuthority
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


def wrap_secret() -> str:
    """Return the secret the seal keys are encrypted with (``Settings.secret_key``, see ``wrap``)."""
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
    issued = pki.make_scheme_ca(not_before=(now or clock.now()) - BACKDATE, days=SCHEME_DAYS)
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    der = _der(issued.certificate)
    kid = kid_of(der)
    wrap, blob = keys.encrypt_key(issued.key, secret=wrap_secret(), kid=kid)
    row = SchemeAuthority(
        kid=kid.hex(),
        certificate=der,
        key_ciphertext=blob,
        key_wrap=wrap,
        status=ACTIVE,
        active_slot=1,
        created_at=now or clock.now(),
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
    key = keys.decrypt_key(row.key_ciphertext, wrap=row.key_wrap, secret=wrap_secret(), kid=bytes.fromhex(row.kid))
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
    key = keys.decrypt_key(row.key_ciphertext, wrap=row.key_wrap, secret=wrap_secret(), kid=bytes.fromhex(row.kid))
    signer = SealSigner.of(key, x509.load_der_x509_certificate(row.certificate))
    with _cache_lock:
        _cache[ident] = signer
    return signer


def entity_by_bin(session: Session, bin_: str) -> Entity:
    """Return the entity with this BIN; raise NotFound."""
    entity = session.scalar(select(Entity).where(Entity.bin == bin_))
    if entity is None:
        raise NotFound()
    return entity
