"""EU Digital COVID Certificate (`HC1:`) verification on the same layers, as a conformance check (§1, §6.7)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from emhana.kernel.errors import CertificateInvalid, SealMalformed, TrustListInvalid
from emhana.trust.keys import es256
from emhana.trust.keys.certs import extended_key_usages, load_certificate
from emhana.trust.lists.jws import strict_json
from emhana.trust.seals import cose, cwt
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.verifier import DEFAULT_SKEW, Outcome, Result, time_outcome

PREFIX = "HC1:"
CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_HCERT = -260
DSC_LIST_KIND = "DSC list"
# docs/credentials.md §1.5: optional DSC EKU OIDs restricting the certificate type (and the ".0." variants).
_TYPE_OIDS = {"t": "1", "v": "2", "r": "3"}
TYPE_NAMES = {"v": "vaccination", "t": "test", "r": "recovery"}


def type_oids(kind: str) -> frozenset[x509.ObjectIdentifier]:
    """Return the EKU OIDs that allow a DSC to sign certificates of this type (v, t or r)."""
    n = _TYPE_OIDS[kind]
    return frozenset(
        {x509.ObjectIdentifier(f"1.3.6.1.4.1.1847.2021.1.{n}"), x509.ObjectIdentifier(f"1.3.6.1.4.1.0.1847.2021.1.{n}")}
    )


ALL_TYPE_OIDS = frozenset().union(*(type_oids(k) for k in _TYPE_OIDS))


@dataclass(frozen=True)
class DscList:
    """EU DCC document signer certificates by kid; a kid may name several certificates (§1.3)."""

    by_kid: Mapping[bytes, tuple[x509.Certificate, ...]]

    @classmethod
    def of(cls, certificates: Iterable[x509.Certificate]) -> DscList:
        """Return the list of these certificates, indexed by their kid."""
        by_kid: dict[bytes, list[x509.Certificate]] = {}
        for cert in certificates:
            by_kid.setdefault(es256.kid_of(cert.public_bytes(serialization.Encoding.DER)), []).append(cert)
        return cls({k: tuple(v) for k, v in by_kid.items()})


def load_dsc_list(document: bytes) -> DscList:
    """Read a DSC list: a JSON array (or {"certificates": [...]}) of base64 DER strings or {"rawData": ...} objects."""
    try:
        data = strict_json(document)
        items = data.get("certificates") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise TypeError("not a list")
        certs = []
        for item in items:
            raw = item.get("rawData") if isinstance(item, dict) else item
            if not isinstance(raw, str):
                raise TypeError("rawData")
            certs.append(load_certificate(base64.b64decode(raw, validate=True)))
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError, CertificateInvalid):
        raise TrustListInvalid(kind=DSC_LIST_KIND, reason="not a JSON list of base64 DER certificates") from None
    return DscList.of(certs)


@dataclass(frozen=True)
class DccClaims:
    """What the HC1 verifier reads from a DCC: times, country, the type (v/t/r), name and birth date, and the
    schema remarks that do not stop a reference verifier (a missing `ver`, `fnt` or `dob`)."""

    iss: str | None
    iat: int
    exp: int
    kind: str
    name: str
    dob: str
    remarks: tuple[str, ...] = ()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read_claims(claims: Any) -> DccClaims:
    """Read CWT claims of a DCC (hcert §3.3) as leniently as the EU reference verifiers; raise SealMalformed only
    when the certificate cannot be read at all (CBO2, DGC1, DGC2, no usable time).

    NumericDates may be floats (RFC 8392 §2), taken in whole seconds; schema details a verifier can do without
    become remarks.
    """
    if not isinstance(claims, Mapping):
        raise SealMalformed(reason="claims_not_map")
    iss = claims.get(CLAIM_ISS)
    iat = cwt.numeric_date(claims.get(CLAIM_IAT), "iat", fractional=True)
    exp = cwt.numeric_date(claims.get(CLAIM_EXP), "exp", fractional=True)
    hcert = claims.get(CLAIM_HCERT)
    dcc = hcert.get(1) if isinstance(hcert, Mapping) else None
    if not isinstance(dcc, Mapping) or not isinstance(dcc.get("nam"), Mapping):
        raise SealMalformed(reason="no_eu_dcc_v1")
    kinds = [k for k in TYPE_NAMES if k in dcc]
    if len(kinds) != 1 or not isinstance(dcc[kinds[0]], list | tuple) or len(dcc[kinds[0]]) != 1:
        raise SealMalformed(reason="not_exactly_one_entry")  # docs/credentials.md §1.2, test DGC2
    nam = dcc["nam"]
    name = " ".join(p for p in (_text(nam.get("gn")), _text(nam.get("fn"))) if p) or _text(nam.get("fnt"))
    remarks = tuple(
        f"schema:{what}_missing"
        for what, present in (("ver", _text(dcc.get("ver"))), ("fnt", _text(nam.get("fnt"))), ("dob", "dob" in dcc))
        if not present
    )
    return DccClaims(iss if isinstance(iss, str) else None, iat, exp, kinds[0], name, _text(dcc.get("dob")), remarks)


def _allowed(cert: x509.Certificate, kind: str) -> bool:
    """Tell whether a DSC may sign this type: a DSC without any type OID (of either family) may sign every type."""
    try:
        ekus = extended_key_usages(cert)
    except ValueError:
        return False
    typed = (ekus or frozenset()) & ALL_TYPE_OIDS
    return not typed or bool(typed & type_oids(kind))


def verify_hc1(text: str, dscs: DscList, at: dt.datetime, *, skew: dt.timedelta = DEFAULT_SKEW) -> Result:
    """Verify an `HC1:` text offline at `at` with the outcomes of §6.6 (no revocation list for DCCs here).

    The order is the specification's (hcert §6.3): transport and COSE, the DSC by kid, the signature, and only
    then the payload. So a DCC whose payload breaks the schema still reports its signature's verdict (`signature`
    in the result), and a forged one is TAMPERED whatever its payload says.
    """
    if at.tzinfo is None:
        raise ValueError("the verification clock must be timezone-aware")
    try:
        message = cose.decode_sign1(seal.decode_transport(text, PREFIX), require_tag=False, kid_length=None)
    except SealMalformed as exc:
        return Result(Outcome.MALFORMED, str(exc.params.get("reason")), at)
    kid = message.kid
    candidates = dscs.by_kid.get(kid or b"", ())
    if not candidates:
        return Result(Outcome.UNKNOWN_ISSUER, "unknown_kid", at, kid)
    if message.alg not in (cose.ALG_ES256, cose.ALG_PS256):
        return Result(Outcome.TAMPERED, "unsupported_alg", at, kid)
    signer = None
    for cert in candidates:
        key = cert.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey) and cose.verify_signature(message, key):
            signer = cert
            break
    if signer is None:
        return Result(Outcome.TAMPERED, "bad_signature", at, kid, signature="invalid")
    try:
        claims = read_claims(cose.loads_strict(message.payload, allow_indefinite=True))
    except SealMalformed as exc:
        return Result(Outcome.MALFORMED, str(exc.params.get("reason")), at, kid, signature="valid")
    notes = claims.remarks
    if not _allowed(signer, claims.kind):
        return Result(
            Outcome.ISSUER_NOT_AUTHORISED, "dsc_not_allowed_for_type", at, kid, notes=notes, signature="valid"
        )
    shown = {
        "name": claims.name,
        "birth_date": claims.dob,
        "certificate_type": TYPE_NAMES[claims.kind],
        "issuer_country": claims.iss,
        "issued_at": _iso(claims.iat),
        "valid_until": _iso(claims.exp),
    }
    timing = time_outcome(
        iat=claims.iat,
        nbf=claims.iat,
        exp=claims.exp,
        dsc_not_before=int(signer.not_valid_before_utc.timestamp()),
        dsc_not_after=int(signer.not_valid_after_utc.timestamp()),
        now=int(at.timestamp()),
        skew=int(skew.total_seconds()),
    )
    if timing is not None:
        return Result(timing[0], timing[1], at, kid, shown, notes=notes, signature="valid")
    return Result(Outcome.VALID, None, at, kid, shown, notes=notes, signature="valid")


def _iso(seconds: int) -> str:
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return str(seconds)
