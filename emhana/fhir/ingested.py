"""Read back what an MIS sent (issue 17): the Observation, DiagnosticReport, Immunization and Condition resources of
the inbound ledger (``InboundResource``), each version exactly as received, with its ``meta`` (docs/fhir-readback.md).

- **Ids.** The sending MIS reads its resources under its own ids (they are unique per source), so the ``location``
  of its transaction-response resolves. Every other reader, and the sender too, reads any ingested resource under
  its server id ``inbound-<n>`` (n: the ledger row of its first version); the sender's own ids are tried first.
- **Who.** The sender always reads back what it sent. Anyone else reads as ``Patient/$medbook`` admits it
  (``medbook.views.authorize_document``: the staff and MIS of the issuing organization, of one examining the worker
  now, or of one that recorded in the book, the last with a stated purpose); otherwise the resource is unknown.
- **State.** The body is what was sent; when the journal entry of the latest version was retracted (entered in
  error) or corrected at the desk since, ``meta.tag`` says so (``retracted``, ``superseded``, or
  ``correction-pending`` before the correction is signed).
- Every read and search is logged as a read of the worker's book through FHIR, with the purpose the reader gives,
  and counts toward the reader's daily read volume (the Fund's flags), as Patient reads do.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.fhir import systems
from emhana.fhir.inbound import SUBJECT_FIELD, source_of
from emhana.fhir.models import InboundResource
from emhana.identity import service as identity
from emhana.kernel.clock import KZ_TIME, kz_date
from emhana.kernel.errors import Forbidden
from emhana.medbook import views
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.service import SIGNED

TYPES = ("Observation", "DiagnosticReport", "Immunization", "Condition")
SERVER_ID = re.compile(r"^inbound-([1-9]\d{0,17})$")
STATE = f"{systems.BASE}/CodeSystem/ingested-state"
SOURCE = f"{systems.BASE}/source/"  # meta.source when the MIS gave none: the sending account ("account/<id>")
SEARCH_PARAMS = {t: ("subject",) if SUBJECT_FIELD[t] == "subject" else () for t in TYPES}  # besides patient
STATES = {
    "retracted": "Withdrawn as entered in error: it no longer counts in the medical book",
    "superseded": "Corrected or retracted in the medical book after it was received",
    "correction-pending": "A correction of the medical book entry awaits its author's signature",
}


def server_id(first_row_id: int) -> str:
    """Return the server id of an ingested resource: its first version's ledger row."""
    return f"inbound-{first_row_id}"


def instant(moment: dt.datetime) -> str:
    """Return a FHIR instant in UTC with every digit kept (``_lastUpdated=gt<it>`` excludes the resource)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)  # SQLite gives naive UTC back
    return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# --- _lastUpdated ----------------------------------------------------------------------------------------------

DATE = re.compile(
    r"^(?P<prefix>eq|ge|gt|le|lt)?(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True)
class Updated:
    """One ``_lastUpdated`` condition: the prefix and the range [low, high) its value stands for."""

    prefix: str
    low: dt.datetime
    high: dt.datetime

    def admits(self, moment: dt.datetime) -> bool:
        """Tell whether an instant satisfies the condition (FHIR R4 search.html#date, an instant as the target)."""
        t = _aware(moment)
        return {
            "eq": self.low <= t < self.high,
            "ge": t >= self.low,
            "gt": t >= self.high,
            "le": t < self.high,
            "lt": t < self.low,
        }[self.prefix]


def _months_later(moment: dt.datetime, months: int) -> dt.datetime:
    total = moment.month - 1 + months
    return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)


def parse_updated(raw: str) -> Updated:
    """Parse a ``_lastUpdated`` value (prefix eq, ge, gt, le or lt; a year down to a fraction of a second); a value
    without a time zone is Kazakhstan's time. Raise ValueError for anything else."""
    m = DATE.match(raw.strip().replace(" ", "+"))  # a "+" of a zone left unencoded in a URL reads as a space
    if m is None:
        raise ValueError(raw)
    zone: dt.tzinfo = KZ_TIME
    if m["zone"] == "Z":
        zone = dt.UTC
    elif m["zone"]:
        sign = 1 if m["zone"][0] == "+" else -1
        zone = dt.timezone(sign * dt.timedelta(hours=int(m["zone"][1:3]), minutes=int(m["zone"][4:6])))
    fraction = (m["fraction"] or "")[:6]
    low = dt.datetime(
        int(m["year"]),
        int(m["month"] or 1),
        int(m["day"] or 1),
        int(m["hour"] or 0),
        int(m["minute"] or 0),
        int(m["second"] or 0),
        int(fraction.ljust(6, "0")) if fraction else 0,
        tzinfo=zone,
    )
    if m["day"] is None:
        high = _months_later(low, 1 if m["month"] else 12)
    elif m["hour"] is None:
        high = low + dt.timedelta(days=1)
    elif m["second"] is None:
        high = low + dt.timedelta(minutes=1)
    elif not fraction:
        high = low + dt.timedelta(seconds=1)
    else:
        high = low + dt.timedelta(microseconds=10 ** (6 - len(fraction)))
    return Updated(m["prefix"] or "eq", low.astimezone(dt.UTC), high.astimezone(dt.UTC))


# --- Reading -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The versions of one ingested resource a reader may see, newest first, and the id it is shown under."""

    rtype: str
    shown_id: str
    book: MedicalBook
    versions: list[dict[str, Any]]  # newest first, each as presented (body, id, meta)


def _versions(session: Session, source: str, rtype: str, resource_id: str) -> list[InboundResource]:
    return list(
        session.scalars(
            select(InboundResource)
            .where(
                InboundResource.source == source,
                InboundResource.resource_type == rtype,
                InboundResource.resource_id == resource_id,
            )
            .order_by(InboundResource.id.desc())
        )
    )


def _states(session: Session, entry_ids: Iterable[int]) -> dict[int, str]:
    """Return, by journal entry, what became of it since: ``retracted`` (it is a retraction, or one supersedes
    it), ``superseded`` (a signed correction replaced it) or ``correction-pending`` (one awaits its signature)."""
    wanted = set(entry_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.supersedes_id, JournalEntry.signature_state, JournalEntry.retracted).where(
            or_(
                JournalEntry.supersedes_id.in_(wanted),
                and_(JournalEntry.id.in_(wanted), JournalEntry.retracted.is_(True)),
            )
        )
    ).all()
    out: dict[int, str] = {}
    for entry_id, old, state, retracted in rows:
        if entry_id in wanted and retracted:
            out[entry_id] = "retracted"
        elif old in wanted:
            out[old] = "retracted" if retracted else "superseded" if state == SIGNED else "correction-pending"
    return out


def present(row: InboundResource, shown_id: str, state: str | None = None) -> dict[str, Any]:
    """Return one version as received, under the id it is read by, with ``meta`` (versionId: the MIS's version,
    lastUpdated: when it was received, source: the sending account unless the MIS named one) and the state tag."""
    received: dict[str, Any] = json.loads(row.body or b"{}")
    meta: dict[str, Any] = dict(received.pop("meta", None) or {})
    meta["versionId"] = row.version
    meta["lastUpdated"] = instant(row.received_at)
    meta.setdefault("source", SOURCE + row.source)
    if state is not None:
        meta["tag"] = [*(meta.get("tag") or []), {"system": STATE, "code": state, "display": STATES[state]}]
    received.pop("id", None)
    return {"resourceType": received.pop("resourceType", row.resource_type), "id": shown_id, "meta": meta, **received}


def _book_of(session: Session, row: InboundResource) -> MedicalBook | None:
    return session.scalar(
        select(MedicalBook)
        .join(JournalEntry, JournalEntry.book_id == MedicalBook.id)
        .where(JournalEntry.id == row.entry_id)
    )


def _admitted(session: Session, actor: Actor, book: MedicalBook, purpose: str, now: dt.datetime) -> bool:
    """Tell whether a reader other than the sender may read the book's results as ``Patient/$medbook`` admits it;
    an organization that only recorded in the book before must state a purpose (PurposeRequired)."""
    try:
        views.authorize_document(actor, book)
    except Forbidden:
        return False
    views.require_document_purpose(session=session, actor=actor, book=book, purpose=purpose, now=now)
    return True


def _log(session: Session, actor: Actor, book: MedicalBook, purpose: str, now: dt.datetime) -> None:
    record_event(
        session=session,
        actor=actor,
        action=views.FHIR_READ_ACTION,
        object_type=views.BOOK,
        object_id=str(book.id),
        subject_person_id=book.person_id,
        purpose=purpose[:200],
        now=now,
    )
    identity.flag_reads(session=session, actor=actor, day=kz_date(now))  # the Fund sees unusual read volumes


def _resolve(session: Session, actor: Actor, rtype: str, rid: str) -> tuple[list[InboundResource], bool]:
    """Return the ledger rows of a resource (newest first) and whether the reader sent it: the reader's own id
    first, then a server id; no rows when neither names one."""
    own = source_of(actor.account_id)
    rows = _versions(session, own, rtype, rid) if len(rid) <= 64 else []
    if rows:
        return rows, True
    m = SERVER_ID.match(rid)
    first = session.get(InboundResource, int(m[1])) if m else None
    if first is None or first.resource_type != rtype:
        return [], False
    rows = _versions(session, first.source, rtype, first.resource_id)
    if rows[-1].id != first.id:  # the server id names the first version only
        return [], False
    return rows, first.source == own


def read(*, session: Session, actor: Actor, rtype: str, rid: str, purpose: str, now: dt.datetime) -> Found | None:
    """Return every version of an ingested resource the reader may see (logging the read), or None when it is
    unknown to the reader (unknown and not admitted look the same: no existence oracle)."""
    rows, own = _resolve(session, actor, rtype, rid)
    kept = [r for r in rows if r.body is not None]  # versions received before the body was kept are not shown
    book = _book_of(session, kept[0]) if kept else None
    if book is None or not (own or _admitted(session, actor, book, purpose, now)):
        return None
    _log(session, actor, book, purpose, now)
    state = _states(session, [kept[0].entry_id]).get(kept[0].entry_id)
    versions = [present(r, rid, state if i == 0 else None) for i, r in enumerate(kept)]
    return Found(rtype, rid, book, versions)


def search(
    *,
    session: Session,
    actor: Actor,
    rtype: str,
    person_id: int | None,
    rid: str | None,
    updated: list[Updated],
    count: int,
    offset: int,
    purpose: str,
    now: dt.datetime,
) -> tuple[int, list[dict[str, Any]]]:
    """Return the latest versions of a worker's ingested resources of a type (newest first), one page, and their
    total: by patient (the book's readers, as ``read``), and/or by id; nothing for a book the reader may not read."""
    if person_id is None:
        found = read(session=session, actor=actor, rtype=rtype, rid=rid, purpose=purpose, now=now) if rid else None
        if found is None or not all(u.admits(_received(found.versions[0])) for u in updated):
            return 0, []
        return 1, [found.versions[0]][offset : offset + count]
    book = session.scalar(select(MedicalBook).where(MedicalBook.person_id == person_id))
    if book is None or not _admitted(session, actor, book, purpose, now):
        return 0, []
    _log(session, actor, book, purpose, now)
    own = source_of(actor.account_id)
    rows = session.execute(
        select(
            InboundResource.id,
            InboundResource.source,
            InboundResource.resource_id,
            InboundResource.received_at,
            InboundResource.body.is_not(None),
        )
        .join(JournalEntry, JournalEntry.id == InboundResource.entry_id)
        .where(JournalEntry.book_id == book.id, InboundResource.resource_type == rtype)
        .order_by(InboundResource.id)
    ).all()
    first: dict[tuple[str, str], int] = {}
    latest: dict[tuple[str, str], tuple[int, dt.datetime]] = {}
    for row_id, source, resource_id, received_at, kept in rows:
        first.setdefault((source, resource_id), row_id)
        if kept:
            latest[(source, resource_id)] = (row_id, received_at)
    matches = []
    for key, (row_id, received_at) in latest.items():
        shown = key[1] if key[0] == own else server_id(first[key])
        if (rid is None or shown == rid) and all(u.admits(received_at) for u in updated):
            matches.append((row_id, shown))
    matches.sort(reverse=True)
    page = matches[offset : offset + count]
    loaded = {
        r.id: r for r in session.scalars(select(InboundResource).where(InboundResource.id.in_([i for i, _ in page])))
    }
    states = _states(session, [r.entry_id for r in loaded.values()])
    return len(matches), [present(loaded[i], shown, states.get(loaded[i].entry_id)) for i, shown in page]


def _received(resource: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(resource["meta"]["lastUpdated"]).replace("Z", "+00:00"))


def capability(rtype: str) -> dict[str, Any]:
    """Return the CapabilityStatement.rest.resource of an ingested type: read, vread, history and search back."""
    params = [
        ("patient", "reference", "the worker: Patient/<id>"),
        *([("subject", "reference", "the worker: Patient/<id>")] if SEARCH_PARAMS[rtype] else []),
        ("_id", "token", "the sending MIS's own id, or the server id inbound-<n>"),
        ("_lastUpdated", "date", "when a version was received (eq, ge, gt, le, lt; Kazakhstan's time without zone)"),
    ]
    return {
        "type": rtype,
        "documentation": "Written inside a signed transaction Bundle only; read back as received, by the sending MIS "
        "under its own ids and by the book's readers under the server id inbound-<n>",
        "interaction": [{"code": c} for c in ("read", "vread", "history-instance", "search-type")],
        "versioning": "versioned",
        "readHistory": True,
        "searchParam": [{"name": n, "type": t, "documentation": d} for n, t, d in params],
    }
