"""What a successful verification proves, kept with the record (docs/credentials.md §4.3: store the evidence)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CrlUsed:
    """A cached CRL consulted for one certificate of the path."""

    issuer: str
    number: int | None
    this_update: dt.datetime
    next_update: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "issuer": self.issuer,
            "number": self.number,
            "this_update": self.this_update.isoformat(),
            "next_update": self.next_update.isoformat() if self.next_update else None,
        }


@dataclass(frozen=True)
class Evidence:
    """The outcome of a valid detached CMS signature and the facts it rests on.

    ``chain`` lists subjects from the signer to the anchor; ``crls`` the CRLs used (empty when a remote
    verifier such as NCANode checked revocation itself; ``verifier`` says which).
    """

    verifier: str
    signer_certificate: bytes
    signer_subject: str
    signer_common_name: str | None
    signer_iin: str | None
    signer_bin: str | None
    signer_serial: str
    signing_time: dt.datetime
    verified_at: dt.datetime
    content_sha256: str
    digest_algorithm: str
    signature_algorithm: str
    chain: tuple[str, ...]
    crls: tuple[CrlUsed, ...] = ()
    remote: dict[str, Any] = field(default_factory=dict)
    outcome: str = "valid"

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form stored with the record (the certificate as its SHA-256, stored apart)."""
        return {
            "outcome": self.outcome,
            "verifier": self.verifier,
            "signer_subject": self.signer_subject,
            "signer_serial": self.signer_serial,
            "signer_certificate_sha256": hashlib.sha256(self.signer_certificate).hexdigest(),
            "signing_time": self.signing_time.isoformat(),
            "verified_at": self.verified_at.isoformat(),
            "content_sha256": self.content_sha256,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "chain": list(self.chain),
            "crls": [c.to_json() for c in self.crls],
            **({"remote": self.remote} if self.remote else {}),
        }
