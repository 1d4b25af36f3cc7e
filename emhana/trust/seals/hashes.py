"""What a revocation list holds of a seal: the hash of its signature, and the entry of an issued seal (§6.5)."""

from __future__ import annotations

import datetime as dt
import hashlib

from emhana.trust.lists.revocation import HASH_LENGTH, Reason, Revocation, cti_hash
from emhana.trust.seals import cose, cwt
from emhana.trust.seals import kzmb1 as seal


def signature_hash(message: cose.Sign1) -> bytes:
    """Return SHA-256(r)[:16]: only r for ES256, so a re-encoded (s -> n-s) signature cannot dodge it (§1.6, §6.8)."""
    return hashlib.sha256(cose.signature_r(message)).digest()[:HASH_LENGTH]


def revocation_of(text: str, reason: Reason, at: dt.datetime) -> Revocation:
    """Return the revocation entry of an issued seal text (decoded, not verified: the issuer revokes its own seals)."""
    message = cose.decode_sign1(seal.decode_transport(text))
    claims = cwt.read_claims(cose.loads_strict(message.payload))
    kid = message.kid or b""
    return Revocation(kid, (cti_hash(kid, claims.cti), signature_hash(message)), reason, at)
