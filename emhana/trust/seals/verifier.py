"""The offline seal verifier: pure, injected clock, exactly the outcomes and check order of docs/credentials.md §6.6."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from emhana.kernel.errors import SealMalformed
from emhana.trust.lists.revocation import Reason, cti_hash
from emhana.trust.lists.trustlist import ListInfo, SignerEntry, TrustContext
from emhana.trust.seals import cose, cwt
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.hashes import signature_hash

DEFAULT_SKEW = dt.timedelta(minutes=5)
_DEFAULT_SKEW_SECONDS = int(DEFAULT_SKEW.total_seconds())
# Looked up once: enum attribute access on every verification is a measurable share of it (issue 18).
_SUSPENDED = Reason.SUSPENDED.value
_SUPERSEDED = Reason.SUPERSEDED.value
_NOT_REVOKING = frozenset({_SUPERSEDED, _SUSPENDED})
_SECTION_NAMES = {section: section.name.lower() for section in cwt.Section}
_STATUS_NAMES = {status: status.name.lower() for status in cwt.ClearanceStatus}


class Outcome(StrEnum):
    """Verifier outcomes, in the order they are checked (§6.6)."""

    MALFORMED = "MALFORMED"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"
    TAMPERED = "TAMPERED"
    ISSUER_NOT_AUTHORISED = "ISSUER_NOT_AUTHORISED"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"
    SUPERSEDED = "SUPERSEDED"
    VALID = "VALID"


@dataclass(frozen=True, init=False)
class Result:
    """A verdict: the outcome, a machine reason, what may be shown (never the IIN, nothing clinical), list ages."""

    outcome: Outcome
    reason: str | None
    verified_at: dt.datetime
    kid: bytes | None = None
    shown: Mapping[str, Any] | None = None
    trust_list: ListInfo | None = None
    revocation_list: ListInfo | None = None
    notes: tuple[str, ...] = field(default=())
    # HC1 only: the signature's own verdict ("valid" or "invalid"), reported apart from the payload's schema
    # (a DCC whose payload breaks the schema still says whether its signature holds); None when not reached.
    signature: str | None = None

    def __init__(
        self,
        outcome: Outcome,
        reason: str | None,
        verified_at: dt.datetime,
        kid: bytes | None = None,
        shown: Mapping[str, Any] | None = None,
        trust_list: ListInfo | None = None,
        revocation_list: ListInfo | None = None,
        notes: tuple[str, ...] = (),
        signature: str | None = None,
    ) -> None:
        # The generated __init__ of a frozen dataclass sets each field through object.__setattr__; filling the
        # instance's dict at once gives the same frozen object at half the cost, once per verification (issue 18).
        self.__dict__.update(
            outcome=outcome,
            reason=reason,
            verified_at=verified_at,
            kid=kid,
            shown=shown,
            trust_list=trust_list,
            revocation_list=revocation_list,
            notes=notes,
            signature=signature,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""

        def info(i: ListInfo | None) -> dict[str, Any] | None:
            if i is None:
                return None
            return {"sequence": i.sequence, "issued_at": _iso(i.issued_at), "stale": i.stale(self.verified_at)}

        out = {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "verified_at": _iso(self.verified_at),
            "kid": self.kid.hex() if self.kid else None,
            "claims": dict(self.shown) if self.shown else None,
            "trust_list": info(self.trust_list),
            "revocation_list": info(self.revocation_list),
            "notes": list(self.notes),
        }
        if self.signature is not None:
            out["signature"] = self.signature
        return out

    def summary(self) -> str:
        """Return one line starting with the outcome word."""
        words = [self.outcome.value]
        if self.reason:
            words.append(f"({self.reason})")
        if self.shown:
            s = self.shown
            if s.get("notice_number"):
                words.append(f"— attachment notice {s.get('notice_number')} ({s.get('notice_kind')}), {s.get('site')}")
            else:
                words.append(f"— {s.get('name')}, born {s.get('birth_date')}")
            what = s.get("clearance") or s.get("certificate_type") or "sealed"
            words.append(f"— {what} until {s.get('valid_until')}")
            issuer = s.get("facility_name") or s.get("facility_bin") or s.get("issuer_country")
            if issuer:
                words.append(f"— issued by {issuer}")
        if self.signature is not None:  # HC1: the signature's verdict and the payload's schema remarks
            words.append(f"— signature {self.signature}")
            if self.notes:
                words.append(f"— remarks: {', '.join(self.notes)}")
        words.append(f"— verified offline at {_iso(self.verified_at)}")
        if self.trust_list:
            words.append(f"with trust list #{self.trust_list.sequence} of {_iso(self.trust_list.issued_at)}")
        return " ".join(words)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# A NumericDate as text, "YYYY-MM-DDTHH:MM:SSZ" (what time.strftime of time.gmtime writes, tested): the day from
# its ordinal, the time of day from two small tables (3,624 short strings). Two dates are written per verification;
# through strftime they took about 2% of it (issue 18).
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_HOURS = tuple(f"T{hour:02d}:" for hour in range(24))
_MINUTES_SECONDS = tuple(f"{minute:02d}:{second:02d}Z" for minute in range(60) for second in range(60))


def _date_of(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return dt.date.fromordinal(_EPOCH_ORDINAL + days).isoformat() + _HOURS[hours] + _MINUTES_SECONDS[rest]


def shown_claims(claims: cwt.AnyClaims, signer: SignerEntry) -> dict[str, Any]:
    """Return the claims an inspector may see: identity match, clearance and its dates, the facility (§6.6 step 7)."""
    if isinstance(claims, cwt.NoticeClaims):
        n = claims.notice
        return {
            "record_type": claims.record_type,
            "notice_number": n.number,
            "notice_kind": n.kind.name.lower(),
            "site": n.site,
            "begin_date": n.begin.isoformat() if n.begin else None,
            "issued_at": _date_of(claims.issued_at),
            "valid_until": _date_of(claims.expires_at),
            "facility_name": signer.facility_name,
            "facility_bin": claims.issuer_bin,
        }
    c = claims.clearance
    return {
        "name": c.name,
        "birth_date": c.birth_date.isoformat(),
        "clearance": _STATUS_NAMES[c.status],
        "categories": list(c.categories),
        "issued_at": _date_of(claims.issued_at),
        "valid_until": _date_of(claims.expires_at),
        "dates": {_SECTION_NAMES[section]: day.isoformat() for section, day in c.dates},
        "record_version": c.record_version,
        "facility_name": signer.facility_name,
        "facility_bin": claims.issuer_bin,
    }


def time_outcome(
    *, iat: int, nbf: int, exp: int, dsc_not_before: int, dsc_not_after: int, now: int, skew: int
) -> tuple[Outcome, str] | None:
    """Return NOT_YET_VALID or EXPIRED with a reason when a §6.5 time inequality fails, else None."""
    if max(iat, nbf) > now + skew:
        return Outcome.NOT_YET_VALID, "not_yet_valid"
    if iat < dsc_not_before:
        return Outcome.NOT_YET_VALID, "issued_before_signer_certificate"
    if now > exp:
        return Outcome.EXPIRED, "expired"
    if exp > dsc_not_after:
        return Outcome.EXPIRED, "expiry_beyond_signer_certificate"
    return None


def _verdict(
    trust: TrustContext,
    at: dt.datetime,
    outcome: Outcome,
    reason: str | None,
    kid: bytes | None = None,
    shown: Mapping[str, Any] | None = None,
) -> Result:
    notes = ("revocation_list_stale",) if trust.revocation_list and trust.revocation_list.stale(at) else ()
    return Result(
        outcome, reason, at, kid, shown, trust_list=trust.trust_list, revocation_list=trust.revocation_list, notes=notes
    )


def verify(text: str, trust: TrustContext, at: dt.datetime, *, skew: dt.timedelta = DEFAULT_SKEW) -> Result:
    """Verify a `KZMB1:` seal text offline at the moment `at`; never raises on any text."""
    if at.tzinfo is None:
        raise ValueError("the verification clock must be timezone-aware")
    # 1. MALFORMED: transport, COSE structure and claim structure, before any key is looked at.
    try:
        message = cose.decode_sign1(seal.decode_transport(text))
        claims = cwt.read_claims(cose.loads_strict(message.payload))
    except SealMalformed as exc:
        return _verdict(trust, at, Outcome.MALFORMED, str(exc.params.get("reason")))
    kid = message.kid
    assert kid is not None  # decode_sign1 enforces an 8-byte kid
    # 2. UNKNOWN_ISSUER: every DSC with this kid is a candidate (kids may collide, §1.3).
    if trust.trust_list is not None and trust.trust_list.stale(at):
        return _verdict(trust, at, Outcome.UNKNOWN_ISSUER, "trust_list_stale", kid)
    candidates = trust.signers.get(kid, ())
    if not candidates:
        return _verdict(trust, at, Outcome.UNKNOWN_ISSUER, "unknown_kid", kid)
    usable = [c for c in candidates if c.problem is None and c.public_key is not None]
    if not usable:
        return _verdict(trust, at, Outcome.UNKNOWN_ISSUER, candidates[0].problem, kid)
    # 3. TAMPERED: the signature is verified before any claim is interpreted (hcert §6.3).
    if message.alg != cose.ALG_ES256:
        return _verdict(trust, at, Outcome.TAMPERED, "alg_not_es256", kid)
    signer = None
    for candidate in usable:
        if candidate.public_key is not None and cose.verify_signature(message, candidate.public_key):
            signer = candidate
            break
    if signer is None:
        return _verdict(trust, at, Outcome.TAMPERED, "bad_signature", kid)
    # 4. ISSUER_NOT_AUTHORISED: iss must be the DSC's BIN, and the DSC must be allowed this record type.
    if claims.issuer_bin != signer.bin:
        return _verdict(trust, at, Outcome.ISSUER_NOT_AUTHORISED, "iss_not_signer_bin", kid)
    if claims.record_type not in signer.record_types:
        return _verdict(trust, at, Outcome.ISSUER_NOT_AUTHORISED, "record_type_not_allowed", kid)
    shown = shown_claims(claims, signer)
    # 5. NOT_YET_VALID / EXPIRED: the four inequalities of §6.5.
    timing = time_outcome(
        iat=claims.issued_at,
        nbf=claims.not_before,
        exp=claims.expires_at,
        dsc_not_before=signer.not_before,
        dsc_not_after=signer.not_after,
        now=int(at.timestamp()),
        skew=_DEFAULT_SKEW_SECONDS if skew is DEFAULT_SKEW else int(skew.total_seconds()),
    )
    if timing is not None:
        return _verdict(trust, at, timing[0], timing[1], kid, shown)
    # 6. REVOKED / SUSPENDED / SUPERSEDED: the id hash or the signature-r hash is listed for this kid (no hash is
    # computed when nothing is listed for it).
    listed = trust.revocations.get(signer.kid)
    if listed:
        found = (listed.get(cti_hash(signer.kid, claims.cti)), listed.get(signature_hash(message)))
        reasons = {r for r in found if r is not None}
        revoked = reasons - _NOT_REVOKING
        if revoked:
            return _verdict(trust, at, Outcome.REVOKED, min(revoked), kid, shown)
        if _SUSPENDED in reasons:  # the clearance it states was suspended (C-30), not corrected
            return _verdict(trust, at, Outcome.SUSPENDED, _SUSPENDED, kid, shown)
        if reasons:
            return _verdict(trust, at, Outcome.SUPERSEDED, _SUPERSEDED, kid, shown)
    return _verdict(trust, at, Outcome.VALID, None, kid, shown)
