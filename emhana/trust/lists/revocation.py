"""The signed revocation list: truncated hashes only, per DSC kid, with a reason (docs/credentials.md §6.5)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.kernel.errors import TrustListInvalid
from emhana.trust.keys import es256
from emhana.trust.lists import jws
from emhana.trust.lists.trustlist import ListInfo, TrustContext, list_info, parse_time, scheme_key

REVOCATION_LIST_TYPE = "kzmb-revocation-list+json"
REVOCATION_LIST_KIND = "revocation list"
DEFAULT_MAX_AGE = dt.timedelta(days=1)
HASH_LENGTH = 16


class Reason(StrEnum):
    """Why a seal version is listed (§6.5); `superseded` is what a correction does to the previous version,
    `suspended` what an infection or carriage found in a worker does to the seal of her clearance (C-30)."""

    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    ISSUED_IN_ERROR = "issued-in-error"
    SUSPENDED = "suspended"


STRENGTH = {Reason.SUPERSEDED: 0, Reason.SUSPENDED: 1, Reason.REVOKED: 2, Reason.ISSUED_IN_ERROR: 2}


@dataclass(frozen=True)
class Revocation:
    """One listed seal version: its DSC kid, its two hashes and the reason."""

    kid: bytes
    hashes: tuple[bytes, ...]
    reason: Reason
    at: dt.datetime


def cti_hash(kid: bytes, cti: bytes) -> bytes:
    """Return SHA-256(kid ‖ cti)[:16], the id hash of a seal version (§6.5)."""
    return hashlib.sha256(kid + cti).digest()[:HASH_LENGTH]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def build_revocation_list(
    revocations: Iterable[Revocation],
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_certificate: x509.Certificate,
    sequence: int,
    issued_at: dt.datetime,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
) -> dict[str, str]:
    """Return the signed revocation list (flattened JWS); entries hold hashes, reason and time, never ids or IINs."""
    by_kid: dict[str, list[dict[str, str]]] = {}
    for r in revocations:
        for h in r.hashes:
            by_kid.setdefault(base64.b64encode(r.kid).decode(), []).append(
                {"hash": base64.b64encode(h).decode(), "reason": r.reason.value, "at": _iso(r.at)}
            )
    payload = {
        "type": REVOCATION_LIST_TYPE,
        "version": 1,
        "sequence": sequence,
        "issued_at": _iso(issued_at),
        "max_age_seconds": int(max_age.total_seconds()),
        "entries": by_kid,
    }
    ca_der = ca_certificate.public_bytes(serialization.Encoding.DER)
    return jws.sign(payload, ca_key, typ=REVOCATION_LIST_TYPE, kid=base64.b64encode(es256.kid_of(ca_der)).decode())


def load_revocation_list(document: bytes, anchor: x509.Certificate) -> tuple[dict[bytes, dict[bytes, str]], ListInfo]:
    """Verify a revocation list against the pinned scheme CA and return its hash index by kid and its info."""
    payload = jws.verify(document, scheme_key(anchor), typ=REVOCATION_LIST_TYPE, kind=REVOCATION_LIST_KIND)
    info = list_info(payload, typ=REVOCATION_LIST_TYPE, kind=REVOCATION_LIST_KIND)
    index: dict[bytes, dict[bytes, str]] = {}
    try:
        entries = payload["entries"]
        if not isinstance(entries, Mapping):
            raise TypeError("entries")
        for kid_text, items in entries.items():
            kid = base64.b64decode(kid_text, validate=True)
            if not isinstance(items, list):
                raise TypeError("items")
            for item in items:
                digest = base64.b64decode(item["hash"], validate=True)
                reason = Reason(item["reason"])
                parse_time(item["at"])
                if len(digest) != HASH_LENGTH:
                    raise ValueError("hash length")
                known = index.setdefault(kid, {})
                # A seal listed for several reasons gets the strongest: revoked, then suspended, then superseded.
                before = known.get(digest)
                if before is None or STRENGTH[reason] > STRENGTH[Reason(before)]:
                    known[digest] = reason.value
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise TrustListInvalid(kind=REVOCATION_LIST_KIND, reason="an entry is not well formed") from None
    return index, info


def with_revocation_list(context: TrustContext, document: bytes, anchor: x509.Certificate) -> TrustContext:
    """Return the trust context with a verified revocation list added."""
    index, info = load_revocation_list(document, anchor)
    return context.with_revocations(index, info)
