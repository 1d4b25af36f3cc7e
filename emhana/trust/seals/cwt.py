"""CWT claims of the medical-book seal (docs/credentials.md §6.3): minimal personal data, never the IIN."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import cbor2

from emhana.kernel.errors import SealMalformed, SealRefused

# RFC 8392 registered claim keys.
CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_NBF = 5
CLAIM_IAT = 6
CLAIM_CTI = 7
# docs/credentials.md §6.3: the medical-book payload sits under a private-use (negative, < -65536) claim key.
CLAIM_KZMB = -70001
# The attachment notice payload sits under the next private-use key: entity = iss, no person data at all.
CLAIM_NOTICE = -70002

MB_VERSION = 1
MB_NAME = 2
MB_BIRTH_DATE = 3
MB_STATUS = 4
MB_CATEGORIES = 5
MB_DATES = 6
MB_RECORD_VERSION = 7
MB_RECORD_HASH = 8

NT_VERSION = 1
NT_NUMBER = 2
NT_KIND = 3
NT_SITE = 4
NT_BEGIN = 5

SCHEMA_VERSION = 1
RECORD_TYPE_CLEARANCE = "medbook.clearance"
RECORD_TYPE_NOTICE = "attachment.notification"
MAX_NOTICE_NUMBER = 32
MAX_SITE = 200
CTI_LENGTH = 16
RECORD_HASH_LENGTH = 16
MAX_NAME = 120
MAX_CATEGORIES = 12
MAX_CATEGORY = 16
# SHC vectors reject millisecond dates (docs/credentials.md §2): above this a NumericDate is taken as milliseconds.
MAX_SECONDS = 10**11
EPOCH = dt.date(1970, 1, 1)
_IIN_LIKE = re.compile(r"\d{12}")


class ClearanceStatus(IntEnum):
    """Clearance to work (§6.3 key 4)."""

    FIT = 1
    NOT_FIT = 2
    TEMPORARILY_NOT_FIT = 3


class Section(IntEnum):
    """Which dated part of the medical book a date in key 6 belongs to."""

    EXAM = 1
    LAB = 2
    XRAY = 3
    VACCINATION = 4


_STATUSES = frozenset(int(s) for s in ClearanceStatus)
_SECTIONS = frozenset(int(s) for s in Section)
# The members by value, looked up in a dict: calling an IntEnum per field is slow on the verifier's hot path.
_STATUS_OF = {int(s): s for s in ClearanceStatus}
_SECTION_OF = {int(s): s for s in Section}
_MAX_DATES = len(Section) * 4
# Day n of §6.3 key 6 is date.fromordinal(_EPOCH_ORDINAL + n): the same date as EPOCH + timedelta(days=n) for the
# accepted range (|n| < 200,000), without building a timedelta per date.
_EPOCH_ORDINAL = EPOCH.toordinal()
_date_of_ordinal = dt.date.fromordinal
_date_from_iso = dt.date.fromisoformat


def _is_map(value: Any) -> bool:
    """Tell whether a decoded CBOR value is a map (cbor2 gives a dict; the ABC check is the slow fallback)."""
    return type(value) is dict or isinstance(value, Mapping)


def _is_array(value: Any) -> bool:
    """Tell whether a decoded CBOR value is an array."""
    return type(value) is list or isinstance(value, list | tuple)


@dataclass(frozen=True, slots=True)
class Clearance:
    """The medical-book summary a seal carries: name and birth date as in the ID document, clearance, dates."""

    name: str
    birth_date: dt.date
    status: ClearanceStatus
    categories: tuple[str, ...] = ()
    dates: tuple[tuple[Section, dt.date], ...] = ()
    record_version: int = 1
    record_hash: bytes | None = None


@dataclass(frozen=True, slots=True)
class SealClaims:
    """All claims of one seal version; times are integer seconds since the epoch."""

    issuer_bin: str
    issued_at: int
    not_before: int
    expires_at: int
    cti: bytes
    clearance: Clearance
    record_type: str = RECORD_TYPE_CLEARANCE


def day_number(day: dt.date) -> int:
    """Return the days since 1970-01-01 (the compact date of §6.3 key 6)."""
    return (day - EPOCH).days


def iin_like_fields(claims: SealClaims) -> list[str]:
    """Return the names of free-text claims that hold a 12-digit run (an IIN must never enter a seal, §6.3)."""
    texts = {"name": claims.clearance.name, **{f"category {c}": c for c in claims.clearance.categories}}
    return [field for field, text in texts.items() if _IIN_LIKE.search(text)]


def to_cbor(claims: SealClaims) -> bytes:
    """Return the canonical CBOR of the claims; raise SealRefused for claims that break §6.3."""
    c = claims.clearance
    problems = iin_like_fields(claims)
    if problems:
        raise SealRefused(reason=f"an IIN-like 12-digit number in {', '.join(problems)}")
    if not claims.issued_at <= claims.not_before < claims.expires_at:
        raise SealRefused(reason="the times must satisfy iat <= nbf < exp")
    if len(claims.cti) != CTI_LENGTH:
        raise SealRefused(reason="cti must be 16 random bytes")
    if c.record_hash is not None and len(c.record_hash) != RECORD_HASH_LENGTH:
        raise SealRefused(reason="the record hash must be 16 bytes")
    name = unicodedata.normalize("NFC", c.name.strip())
    if (
        not 0 < len(name) <= MAX_NAME
        or len(c.categories) > MAX_CATEGORIES
        or any(not 0 < len(cat) <= MAX_CATEGORY for cat in c.categories)
    ):
        raise SealRefused(reason="name or categories are empty or too long")
    payload: dict[int, Any] = {
        MB_VERSION: SCHEMA_VERSION,
        MB_NAME: name,
        MB_BIRTH_DATE: c.birth_date.isoformat(),
        MB_STATUS: int(c.status),
    }
    if c.categories:
        payload[MB_CATEGORIES] = list(c.categories)
    if c.dates:
        payload[MB_DATES] = [[int(section), day_number(day)] for section, day in c.dates]
    payload[MB_RECORD_VERSION] = c.record_version
    if c.record_hash is not None:
        payload[MB_RECORD_HASH] = c.record_hash
    body = {
        CLAIM_ISS: claims.issuer_bin,
        CLAIM_EXP: claims.expires_at,
        CLAIM_NBF: claims.not_before,
        CLAIM_IAT: claims.issued_at,
        CLAIM_CTI: claims.cti,
        CLAIM_KZMB: payload,
    }
    return cbor2.dumps(body, canonical=True)


def _bad(reason: str) -> SealMalformed:
    return SealMalformed(reason=reason)


def numeric_date(value: Any, name: str, *, fractional: bool = False) -> int:
    """Return a CWT NumericDate in whole seconds; raise SealMalformed.

    RFC 8392 §2 allows an integer or a floating-point number. KZMB1 takes integers only (§6.6: integer seconds,
    as our issuer writes them); HC1 (``fractional=True``) takes a finite float too, rounded down, as the EU
    reference verifiers do. Either way a value above MAX_SECONDS is taken as milliseconds and refused.
    """
    if type(value) is float and fractional:
        if not math.isfinite(value) or not 0 <= value < MAX_SECONDS:
            raise _bad(f"{name}_not_seconds")
        return math.floor(value)
    if type(value) is not int:
        raise _bad(f"{name}_not_integer_seconds")
    if not 0 <= value < MAX_SECONDS:
        raise _bad(f"{name}_not_seconds")
    return value


def _seconds(value: Any, name: str) -> int:
    # The common case first, inline: an int in range is what numeric_date would return; anything else goes through
    # numeric_date, which raises with the reason (issue 18: three calls per seal on the verifier's hot path).
    if type(value) is int and 0 <= value < MAX_SECONDS:
        return value
    return numeric_date(value, name)


def _clearance(payload: Any) -> Clearance:
    if not _is_map(payload):
        raise _bad("payload_not_map")
    get = payload.get
    version = get(MB_VERSION)
    if type(version) is not int or version != SCHEMA_VERSION:
        raise _bad("unsupported_payload_version")
    name, birth, status = get(MB_NAME), get(MB_BIRTH_DATE), get(MB_STATUS)
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise _bad("bad_name")
    if not isinstance(birth, str) or len(birth) != 10:
        raise _bad("bad_birth_date")
    try:
        birth_date = _date_from_iso(birth)
    except ValueError:
        raise _bad("bad_birth_date") from None
    if type(status) is not int or status not in _STATUSES:
        raise _bad("bad_status")
    categories = get(MB_CATEGORIES, ())
    if not _is_array(categories) or len(categories) > MAX_CATEGORIES:
        raise _bad("bad_categories")
    for category in categories:
        if not isinstance(category, str) or not 0 < len(category) <= MAX_CATEGORY:
            raise _bad("bad_categories")
    dates = get(MB_DATES, ())
    if not _is_array(dates) or len(dates) > _MAX_DATES:
        raise _bad("bad_dates")
    parsed: list[tuple[Section, dt.date]] = []
    for item in dates:
        if not (_is_array(item) and len(item) == 2):
            raise _bad("bad_dates")
        section, day = item
        if not (type(section) is int and type(day) is int and section in _SECTIONS and -200_000 < day < 200_000):
            raise _bad("bad_dates")
        parsed.append((_SECTION_OF[section], _date_of_ordinal(_EPOCH_ORDINAL + day)))
    rv, record_hash = get(MB_RECORD_VERSION), get(MB_RECORD_HASH)
    if type(rv) is not int or not 0 < rv < 2**31:
        raise _bad("bad_record_version")
    if record_hash is not None and (not isinstance(record_hash, bytes) or len(record_hash) != RECORD_HASH_LENGTH):
        raise _bad("bad_record_hash")
    return Clearance(name, birth_date, _STATUS_OF[status], tuple(categories), tuple(parsed), rv, record_hash)


def _header(claims: Any) -> tuple[str, int, int, int, bytes]:
    if not _is_map(claims):
        raise _bad("claims_not_map")
    get = claims.get
    iss = get(CLAIM_ISS)
    if not (isinstance(iss, str) and len(iss) == 12 and iss.isascii() and iss.isdigit()):
        raise _bad("bad_iss")
    iat = _seconds(get(CLAIM_IAT), "iat")
    nbf = _seconds(get(CLAIM_NBF, iat), "nbf")
    exp = _seconds(get(CLAIM_EXP), "exp")
    if exp <= (iat if iat >= nbf else nbf):
        raise _bad("exp_not_after_iat")
    cti = get(CLAIM_CTI)
    if not isinstance(cti, bytes) or len(cti) != CTI_LENGTH:
        raise _bad("bad_cti")
    return iss, iat, nbf, exp, cti


def from_map(claims: Any) -> SealClaims:
    """Read decoded CWT claims strictly (§6.6: integer seconds, known structure); raise SealMalformed."""
    iss, iat, nbf, exp, cti = _header(claims)
    if CLAIM_KZMB not in claims:
        raise _bad("no_known_payload")
    return SealClaims(iss, iat, nbf, exp, cti, _clearance(claims[CLAIM_KZMB]))


class NoticeKind(IntEnum):
    """What an attachment notice says (A-54): attached, or refused."""

    ATTACHMENT = 1
    REFUSAL = 2


@dataclass(frozen=True, slots=True)
class Notice:
    """The attachment notice summary a seal carries: its number, kind, the site and the begin date; no person data."""

    number: str
    kind: NoticeKind
    site: str
    begin: dt.date | None = None


@dataclass(frozen=True, slots=True)
class NoticeClaims:
    """All claims of an attachment-notice seal (the organization's seal on the notice, A-54)."""

    issuer_bin: str
    issued_at: int
    not_before: int
    expires_at: int
    cti: bytes
    notice: Notice
    record_type: str = RECORD_TYPE_NOTICE


AnyClaims = SealClaims | NoticeClaims


def notice_to_cbor(claims: NoticeClaims) -> bytes:
    """Return the canonical CBOR of notice claims; raise SealRefused for claims that break §6.3."""
    n = claims.notice
    site = unicodedata.normalize("NFC", n.site.strip())
    problems = [f for f, text in (("number", n.number), ("site", site)) if _IIN_LIKE.search(text)]
    if problems:
        raise SealRefused(reason=f"an IIN-like 12-digit number in {', '.join(problems)}")
    if not claims.issued_at <= claims.not_before < claims.expires_at:
        raise SealRefused(reason="the times must satisfy iat <= nbf < exp")
    if len(claims.cti) != CTI_LENGTH:
        raise SealRefused(reason="cti must be 16 random bytes")
    if not 0 < len(n.number) <= MAX_NOTICE_NUMBER or not 0 < len(site) <= MAX_SITE:
        raise SealRefused(reason="notice number or site is empty or too long")
    payload: dict[int, Any] = {NT_VERSION: SCHEMA_VERSION, NT_NUMBER: n.number, NT_KIND: int(n.kind), NT_SITE: site}
    if n.begin is not None:
        payload[NT_BEGIN] = day_number(n.begin)
    body = {
        CLAIM_ISS: claims.issuer_bin,
        CLAIM_EXP: claims.expires_at,
        CLAIM_NBF: claims.not_before,
        CLAIM_IAT: claims.issued_at,
        CLAIM_CTI: claims.cti,
        CLAIM_NOTICE: payload,
    }
    return cbor2.dumps(body, canonical=True)


def encode(claims: AnyClaims) -> bytes:
    """Return the canonical CBOR of either kind of claims."""
    return notice_to_cbor(claims) if isinstance(claims, NoticeClaims) else to_cbor(claims)


def _notice(payload: Any) -> Notice:
    if not _is_map(payload):
        raise _bad("payload_not_map")
    if payload.get(NT_VERSION) != SCHEMA_VERSION or type(payload.get(NT_VERSION)) is not int:
        raise _bad("unsupported_payload_version")
    number, kind, site = payload.get(NT_NUMBER), payload.get(NT_KIND), payload.get(NT_SITE)
    if not isinstance(number, str) or not 0 < len(number) <= MAX_NOTICE_NUMBER:
        raise _bad("bad_notice_number")
    if type(kind) is not int or kind not in {int(k) for k in NoticeKind}:
        raise _bad("bad_notice_kind")
    if not isinstance(site, str) or not 0 < len(site) <= MAX_SITE:
        raise _bad("bad_site")
    begin = payload.get(NT_BEGIN)
    if begin is not None and (type(begin) is not int or not -200_000 < begin < 200_000):
        raise _bad("bad_begin_date")
    return Notice(number, NoticeKind(kind), site, None if begin is None else EPOCH + dt.timedelta(days=begin))


def read_claims(claims: Any) -> AnyClaims:
    """Read decoded CWT claims of a medical-book or an attachment-notice seal strictly; raise SealMalformed."""
    if _is_map(claims) and CLAIM_NOTICE in claims and CLAIM_KZMB not in claims:
        iss, iat, nbf, exp, cti = _header(claims)
        return NoticeClaims(iss, iat, nbf, exp, cti, _notice(claims[CLAIM_NOTICE]))
    return from_map(claims)
