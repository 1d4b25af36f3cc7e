"""The signed trust list of facility document-signer certificates (DSC) and the verifier's trust context (§6.4)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.kernel.errors import CertificateInvalid, TrustListInvalid, TrustListRollback
from emhana.trust.keys.certs import (
    RECORD_TYPE_OIDS,
    extended_key_usages,
    load_certificate,
    subject_bin,
    subject_organization,
)
from emhana.trust.keys.es256 import kid_of
from emhana.trust.lists import jws

TRUST_LIST_TYPE = "kzmb-trust-list+json"
TRUST_LIST_KIND = "trust list"
DEFAULT_MAX_AGE = dt.timedelta(days=7)  # §6.4: max-age e.g. 7 days; verifiers fetch daily.
STATUS_ACTIVE = "active"
# A rotated DSC signs no new seal but still verifies the seals it made until it expires.
STATUS_RETIRED = "retired"
USABLE_STATUSES = frozenset({STATUS_ACTIVE, STATUS_RETIRED})


@dataclass(frozen=True)
class ListInfo:
    """Sequence number, issue time and max-age of a signed list."""

    sequence: int
    issued_at: dt.datetime
    max_age: dt.timedelta

    def stale(self, at: dt.datetime) -> bool:
        """Tell whether the list is older than its max-age at this moment."""
        return at > self.issued_at + self.max_age


@dataclass(frozen=True)
class SignerEntry:
    """One DSC the verifier may accept, with what the list says about it; `problem` bars it (§6.6 step 2)."""

    kid: bytes
    certificate: x509.Certificate
    public_key: ec.EllipticCurvePublicKey | None
    bin: str | None
    facility_name: str
    record_types: frozenset[str]
    not_before: int
    not_after: int
    problem: str | None = None


@dataclass(frozen=True)
class TrustContext:
    """What an offline verifier holds: DSCs by kid (all of them, kids may collide), revoked hashes by kid, list info."""

    signers: Mapping[bytes, tuple[SignerEntry, ...]]
    revocations: Mapping[bytes, Mapping[bytes, str]] = field(default_factory=dict)
    trust_list: ListInfo | None = None
    revocation_list: ListInfo | None = None

    @classmethod
    def single(cls, certificate: x509.Certificate) -> TrustContext:
        """Return a context that trusts exactly one DSC, given by the user (`verify --dsc`)."""
        entry = entry_of(certificate, facility_name=None, record_types=None, status=STATUS_ACTIVE, anchors=None)
        return cls({entry.kid: (entry,)})

    def with_revocations(self, revocations: Mapping[bytes, Mapping[bytes, str]], info: ListInfo) -> TrustContext:
        """Return this context with a revocation list added."""
        return TrustContext(self.signers, revocations, self.trust_list, info)


@dataclass(frozen=True)
class TrustListSigner:
    """A DSC to publish in the trust list, with the facility name and the record types it may seal."""

    certificate: x509.Certificate
    facility_name: str
    record_types: tuple[str, ...] = ("medbook.clearance",)
    status: str = STATUS_ACTIVE


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: Any) -> dt.datetime:
    """Return an aware datetime of an ISO 8601 text with offset; raise ValueError."""
    if not isinstance(text, str):
        raise ValueError("not a time")
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a time needs its UTC offset")
    return moment


def _problem_of_chain(cert: x509.Certificate, anchors: Iterable[x509.Certificate]) -> str | None:
    """Return why a DSC does not chain directly to one of the scheme CAs, or None (§1.5: AKI = CSCA SKI)."""
    for anchor in anchors:
        try:
            cert.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        try:
            aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
            ski = anchor.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            return "dsc_without_key_identifiers"
        return None if aki == ski else "dsc_aki_mismatch"
    return "dsc_not_issued_by_scheme_ca"


def _usage_problem(cert: x509.Certificate) -> str | None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return None if usage.digital_signature else "dsc_key_usage"


def entry_of(
    cert: x509.Certificate,
    *,
    facility_name: str | None,
    record_types: Iterable[str] | None,
    status: str,
    anchors: Iterable[x509.Certificate] | None,
    bin_: str | None = None,
) -> SignerEntry:
    """Return the verifier's entry for a DSC; chain, key, usage and binding faults go into `problem`."""
    der = cert.public_bytes(serialization.Encoding.DER)
    key = cert.public_key()
    public_key = key if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1) else None
    problem: str | None = None
    try:
        ekus = extended_key_usages(cert)
        cert_bin = subject_bin(cert)
        usage_problem = _usage_problem(cert)
    except ValueError:
        ekus, cert_bin, usage_problem = frozenset(), None, "dsc_bad_extensions"
    # No EKU: the DSC may seal any type (as in the DCC, §1.5); with EKU, only the types it names.
    eku_types = {t for t, oid in RECORD_TYPE_OIDS.items() if ekus is None or oid in ekus}
    types = frozenset(eku_types if record_types is None else eku_types & set(record_types))
    if status not in USABLE_STATUSES:
        problem = f"dsc_{status}"
    elif public_key is None:
        problem = "dsc_key_not_p256"
    elif usage_problem:
        problem = usage_problem
    elif anchors is not None:
        problem = _problem_of_chain(cert, anchors)
    if problem is None and bin_ is not None and bin_ != cert_bin:
        problem = "dsc_bin_mismatch"
    return SignerEntry(
        kid_of(der),
        cert,
        public_key,
        cert_bin,
        facility_name or subject_organization(cert) or "",
        types,
        _seconds(cert.not_valid_before_utc),
        _seconds(cert.not_valid_after_utc),
        problem,
    )


def build_trust_list(
    signers: Iterable[TrustListSigner],
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_certificate: x509.Certificate,
    sequence: int,
    issued_at: dt.datetime,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
) -> dict[str, str]:
    """Return the signed trust list (flattened JWS) of these DSCs, signed by the scheme CA key."""
    entries = []
    for s in signers:
        der = s.certificate.public_bytes(serialization.Encoding.DER)
        entries.append(
            {
                "kid": base64.b64encode(kid_of(der)).decode(),
                "certificate": base64.b64encode(der).decode(),
                "bin": subject_bin(s.certificate),
                "facility_name": s.facility_name,
                "record_types": sorted(s.record_types),
                "status": s.status,
                "not_before": _iso(s.certificate.not_valid_before_utc),
                "not_after": _iso(s.certificate.not_valid_after_utc),
            }
        )
    ca_der = ca_certificate.public_bytes(serialization.Encoding.DER)
    payload = {
        "type": TRUST_LIST_TYPE,
        "version": 1,
        "sequence": sequence,
        "issued_at": _iso(issued_at),
        "max_age_seconds": int(max_age.total_seconds()),
        "csca": [base64.b64encode(ca_der).decode()],
        "signers": entries,
    }
    return jws.sign(payload, ca_key, typ=TRUST_LIST_TYPE, kid=base64.b64encode(kid_of(ca_der)).decode())


def list_info(payload: Any, *, typ: str, kind: str) -> ListInfo:
    """Return the sequence, issue time and max-age of a verified list payload; raise TrustListInvalid."""
    try:
        if payload["type"] != typ or payload["version"] != 1:
            raise ValueError("type or version")
        sequence, max_age = payload["sequence"], payload["max_age_seconds"]
        if type(sequence) is not int or type(max_age) is not int or sequence < 0 or not 0 < max_age < 10**9:
            raise ValueError("sequence or max-age")
        return ListInfo(sequence, parse_time(payload["issued_at"]), dt.timedelta(seconds=max_age))
    except (KeyError, TypeError, ValueError, OverflowError):
        raise TrustListInvalid(kind=kind, reason="bad type, version, sequence, issue time or max-age") from None


def scheme_key(anchor: x509.Certificate) -> ec.EllipticCurvePublicKey:
    """Return the pinned scheme CA's ES256 public key; raise CertificateInvalid."""
    key = anchor.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertificateInvalid(reason="the scheme CA key must be ECDSA P-256")
    return key


def load_trust_list(document: bytes, anchor: x509.Certificate) -> TrustContext:
    """Verify a trust list against the pinned scheme CA certificate and return the trust context it gives."""
    payload = jws.verify(document, scheme_key(anchor), typ=TRUST_LIST_TYPE, kind=TRUST_LIST_KIND)
    info = list_info(payload, typ=TRUST_LIST_TYPE, kind=TRUST_LIST_KIND)
    try:
        anchors = [anchor, *(load_certificate(base64.b64decode(c, validate=True)) for c in payload["csca"])]
        raw_entries = payload["signers"]
        if not isinstance(raw_entries, list):
            raise TypeError("signers")
        signers: dict[bytes, list[SignerEntry]] = {}
        for raw in raw_entries:
            cert = load_certificate(base64.b64decode(raw["certificate"], validate=True))
            types = raw["record_types"]
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise TypeError("record_types")
            entry = entry_of(
                cert,
                facility_name=str(raw["facility_name"]),
                record_types=types,
                status=str(raw["status"]),
                anchors=anchors,
                bin_=raw["bin"],
            )
            if base64.b64decode(raw["kid"], validate=True) != entry.kid:
                entry = replace(entry, problem="kid_mismatch")
            signers.setdefault(entry.kid, []).append(entry)
    except (KeyError, TypeError, ValueError, binascii.Error, CertificateInvalid):
        raise TrustListInvalid(kind=TRUST_LIST_KIND, reason="a signer entry is not well formed") from None
    return TrustContext({kid: tuple(entries) for kid, entries in signers.items()}, trust_list=info)


def check_newer(current: ListInfo | None, candidate: ListInfo, *, kind: str) -> None:
    """Refuse a list that does not advance the sequence number of the one in use (rollback protection)."""
    if current is not None and candidate.sequence <= current.sequence:
        raise TrustListRollback(kind=kind, sequence=candidate.sequence, current=current.sequence)
