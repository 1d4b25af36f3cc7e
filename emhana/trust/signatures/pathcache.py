"""A bounded cache of validated certificate paths, so pure-Python path validation runs once per certificate and
trust state rather than on every signature.

The key is everything the path validation depends on: the signer certificate's SHA-256 fingerprint, the anchors,
the intermediates (configured and carried by the CMS), the CRLs in use (issuer, CRL number, thisUpdate and the
CRL's own fingerprint) and the hour of the claimed signing time. A new CRL, a new anchor set or another hour is
another key, so the full validation runs again.

A hit only spares building and checking the path (issuer signatures, names, basic constraints, policies). What
depends on the call is still checked on every call by the verifier: the digest, the signature, that every
certificate of the path is valid at the signing time and not revoked up to it (``check_path_at``, for times
inside one hour's bucket), key usage, and revocation up to the verification clock with a current CRL.
Only successes are kept; a refusal is never cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import x509 as ax  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from emhana.kernel.errors import CertificateExpired, CertificateRevoked

BUCKET_SECONDS = 3600
MAX_PATHS = 1024
_SHA256 = hashes.SHA256()


@dataclass(frozen=True)
class PathKey:
    """What a validated path depends on."""

    signer: bytes
    anchors: tuple[bytes, ...]
    intermediates: tuple[bytes, ...]
    crls: tuple[tuple[bytes, int | None, dt.datetime, bytes], ...]
    bucket: int


def _crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None


def key_of(
    *,
    signer: x509.Certificate,
    carried: Sequence[ax.Certificate],
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    signing_time: dt.datetime,
) -> PathKey:
    """Return the cache key of one validation."""
    others = {hashlib.sha256(c.dump()).digest() for c in carried} | {c.fingerprint(_SHA256) for c in intermediates}
    return PathKey(
        signer=signer.fingerprint(_SHA256),
        anchors=tuple(sorted({a.fingerprint(_SHA256) for a in anchors})),
        intermediates=tuple(sorted(others)),
        crls=tuple(
            sorted((c.issuer.public_bytes(), _crl_number(c), c.last_update_utc, c.fingerprint(_SHA256)) for c in crls)
        ),
        bucket=int(signing_time.timestamp()) // BUCKET_SECONDS,
    )


class PathCache:
    """A thread-safe LRU map of PathKey → validated path (anchor first, signer last)."""

    def __init__(self, size: int = MAX_PATHS) -> None:
        self.size = size
        self._paths: OrderedDict[PathKey, tuple[x509.Certificate, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: PathKey) -> tuple[x509.Certificate, ...] | None:
        with self._lock:
            path = self._paths.get(key)
            if path is None:
                self.misses += 1
                return None
            self._paths.move_to_end(key)
            self.hits += 1
            return path

    def put(self, key: PathKey, path: Sequence[x509.Certificate]) -> None:
        with self._lock:
            self._paths[key] = tuple(path)
            self._paths.move_to_end(key)
            while len(self._paths) > self.size:
                self._paths.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._paths.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._paths)


PATHS = PathCache()


def check_path_at(
    path: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList], signing_time: dt.datetime
) -> None:
    """Refuse a path with a certificate outside its validity at the signing time, or revoked up to it by any
    CRL of its issuer (what the cached validation showed for another moment of the same hour)."""
    for cert in path:
        if not cert.not_valid_before_utc <= signing_time <= cert.not_valid_after_utc:
            raise CertificateExpired(signed_at=signing_time.isoformat())
    for index in range(len(path) - 1, 0, -1):
        cert, issuer = path[index], path[index - 1]
        for crl in crls:
            if crl.issuer != issuer.subject:
                continue
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if (
                entry is not None
                and entry.revocation_date_utc <= signing_time
                and crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            ):
                raise CertificateRevoked(revoked_at=entry.revocation_date_utc.isoformat())
