"""FHIR Bulk Data Access ``$export`` (IG v2, https://hl7.org/fhir/uv/bulkdata/export.html): the kick-off, the
status and its manifest, cancellation, the NDJSON files, and the run in the background (docs/bulk-export.md).

Who exports what (docs/bulk-export.md, "Who may export what"):

* **System level** (``/$export``): the Fund only, and the directory only (Organization, Location, Practitioner,
  PractitionerRole). Patients are not exported at system level: the Fund's per-capita use is served by the
  capitation snapshot's persons file (ids only), and a national file of names, IINs and addresses would be a copy
  of the register that no purpose needs. The Fund exports one organization's Patients through its Group.
* **Group level** (``/Group/{id}/$export``): the Group of an organization is its population — the people attached
  to it on the day of the run and the workers whose medical book it issued. Its MIS clients and staff export their
  own Group, and the Fund any Group for a stated purpose (``X-Purpose-Of-Use``); any other Group answers exactly as
  a missing one. The types follow the role matrix: Patient for the roles that read FHIR Patients, Observation,
  DiagnosticReport, Immunization and Condition (the entries in force of the books the organization issued, mapped
  as ``$medbook`` maps them) for the roles that read FHIR medical books. The Fund gets no clinical data.

Every exported person is logged in the audit log, in the transaction that writes the file that holds them: one
``fhir.patient.read`` per exported Patient and one ``fhir.medbook.read`` per exported book (so the export shows in
"who read my data" and "who read my book"), with the export's purpose, and one event for the export as a whole.

A run reads and writes in pages of ``FILE_SIZE`` resources (keyset order by id), one transaction per page holding
one NDJSON file, so that no export holds more than one page in memory. The files live in the database
(``bulk_models``) and expire ``KEEP`` after the run; the export job purges them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, String, and_, cast, delete, exists, func, or_, select, union, update
from sqlalchemy.orm import Session, aliased, selectinload

from emhana.accounts.models import Account
from emhana.accounts.policy import sees_every_organization
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor, actor_of
from emhana.attachment.capitation import active_on
from emhana.attachment.models import Attachment
from emhana.audit.models import ChainLink
from emhana.audit.service import event_row, record_event, write_events
from emhana.facilities.inclusion import included_on
from emhana.facilities.models import Entity, Post, Practitioner, Site
from emhana.fhir import registry, resources, systems, versions
from emhana.fhir.bulk_models import BulkExport, BulkExportFile
from emhana.fhir.outbound import entry_resource
from emhana.fhir.outcome import NOT_FOUND, FhirError, Issue, prune
from emhana.identity import service as identity
from emhana.identity.models import Person
from emhana.identity.rules import stated_problem
from emhana.kernel import clock
from emhana.kernel.db import make_sessionmaker, unit_of_work
from emhana.kernel.errors import PurposeRequired
from emhana.kernel.i18n import N_
from emhana.medbook import views
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.rules import EntryKind
from emhana.medbook.service import SIGNED
from emhana.trust.chain import links as chain

SYSTEM, GROUP = "system", "group"
DIRECTORY_TYPES = ("Organization", "Location", "Practitioner", "PractitionerRole")
CLINICAL_TYPES = ("Observation", "DiagnosticReport", "Immunization", "Condition")
GROUP_TYPES = ("Patient", *CLINICAL_TYPES)
LEVEL_TYPES = {SYSTEM: DIRECTORY_TYPES, GROUP: GROUP_TYPES}
KNOWN_TYPES = frozenset(DIRECTORY_TYPES + GROUP_TYPES + ("Group", "Provenance", "Binary", "Composition"))
FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
PARAMETERS = frozenset({"_outputFormat", "_type", "_since"})
IGNORED = frozenset({"_format", "_pretty"})
NDJSON = "application/fhir+ndjson"
ACCEPTED = ("application/fhir+json", "application/json", "*/*", "application/*")

FILE_SIZE = 5000  # resources per NDJSON file, read and written in one transaction
KEEP = dt.timedelta(hours=24)  # the files of a finished export are kept this long
STALE = dt.timedelta(minutes=15)  # a running export without a page written for this long was interrupted
RETRY_AFTER = 10  # seconds a client is asked to wait between status requests
OWN_PURPOSE = "attached population"  # the fixed purpose of an organization exporting its own population

# The entry kinds behind each clinical type, as the medical book document maps them (fhir/outbound.py).
KINDS: dict[str, tuple[str, ...]] = {
    "Immunization": (EntryKind.VACCINATION.value,),
    "Condition": (EntryKind.PAST_INFECTION.value, EntryKind.SPECIALIST_DIAGNOSIS.value),
    "DiagnosticReport": (EntryKind.XRAY.value,),
    "Observation": tuple(
        k.value
        for k in EntryKind
        if k not in (EntryKind.VACCINATION, EntryKind.PAST_INFECTION, EntryKind.SPECIALIST_DIAGNOSIS, EntryKind.XRAY)
    ),
}

KICKOFF_ACTION = "fhir.export.kickoff"
DONE_ACTION = "fhir.export.done"
OBJECT = "fhir_bulk_export"

ASYNC_REQUIRED = N_("A bulk export runs asynchronously: send the header Prefer: respond-async.")
BAD_PARAMETER = N_("The export parameter {name} is not valid: {reason}.")
UNSUPPORTED_PARAMETER = N_("The export parameter {name} is not supported.")
UNSUPPORTED_TYPE = N_("Resources of type {type} are not exported at this level.")
FORBIDDEN_TYPE = N_("Your account may not export resources of type {type}.")
FORBIDDEN_LEVEL = N_("Only the Fund exports at system level; export your organization's Group instead.")
NOTHING_TO_EXPORT = N_("Your account may export no resource type at this level.")
EXPORT_GONE = N_("The export {id} is not known, was cancelled, or its files have expired.")
EXPORT_FAILED = N_("The export failed: {reason}.")
ACCOUNT_CHANGED = "the account that asked for the export may no longer export it"

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def _bad(name: str, reason: str) -> FhirError:
    return FhirError(
        400, Issue("invalid", "fhir.export_parameter", BAD_PARAMETER, {"name": name, "reason": reason}, (name,))
    )


def gone(export_id: object) -> FhirError:
    """The answer for an export that is not the reader's, is unknown, cancelled or expired: one answer for all."""
    return FhirError(404, Issue("not-found", "fhir.export_gone", EXPORT_GONE, {"id": str(export_id)[:40]}))


def group_not_found(rid: object) -> FhirError:
    """The answer for a Group that is missing or not the reader's (no existence oracle)."""
    return FhirError(
        404, Issue("not-found", "core.not_found", NOT_FOUND, {"type": "Group", "id": str(rid)[:64]}, ("Group",))
    )


# --- the kick-off ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """What a kick-off asks for: the resource types named (None: every type the reader may export) and ``_since``."""

    types: tuple[str, ...] | None
    since: dt.datetime | None


def prefers(header: str) -> set[str]:
    """Return the preferences of a Prefer header (``respond-async``, ``handling=lenient``...), lower case."""
    return {p.strip().lower().replace(" ", "") for p in re.split(r"[,;]", header) if p.strip()}


def parse(items: Sequence[tuple[str, str]], *, lenient: bool) -> Asked:
    """Read the kick-off's parameters: ``_outputFormat``, ``_type`` and ``_since``; any other is refused (400)
    unless the client asked for lenient handling, which ignores it."""
    values: dict[str, str] = {}
    for name, value in items:
        if name in IGNORED:
            continue
        if name not in PARAMETERS:
            if lenient:
                continue
            raise FhirError(
                400,
                Issue(
                    "not-supported", "fhir.export_unsupported", UNSUPPORTED_PARAMETER, {"name": name[:60]}, (name[:60],)
                ),
            )
        if name in values:
            raise _bad(name, "given more than once")
        values[name] = value
    fmt = values.get("_outputFormat")
    if fmt is not None and fmt not in FORMATS:
        raise _bad("_outputFormat", "application/fhir+ndjson, application/ndjson or ndjson")
    types: tuple[str, ...] | None = None
    if "_type" in values:
        named = [t.strip() for t in values["_type"].split(",")]
        if not all(named):
            raise _bad("_type", "a comma-separated list of resource types")
        types = tuple(dict.fromkeys(named))
    since = None
    if "_since" in values:
        raw = values["_since"]
        if not INSTANT.match(raw):
            raise _bad("_since", "an instant with its time zone, e.g. 2026-03-01T00:00:00Z")
        try:
            since = dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(dt.UTC)
        except ValueError:
            raise _bad("_since", "an instant with its time zone, e.g. 2026-03-01T00:00:00Z") from None
    return Asked(types, since)


def _scope_allows(scopes: frozenset[str], rtype: str) -> bool:
    """Tell whether SMART system scopes grant reading a type (``system/Patient.rs``, ``system/*.read``...)."""
    for scope in scopes:
        context, _, rest = scope.partition("/")
        target, _, access = rest.partition(".")
        if context == "system" and target in (rtype, "*") and (access in ("read", "*") or "r" in access):
            return True
    return False


def exportable(actor: Actor, level: str) -> tuple[str, ...]:
    """Return the types an actor may export at a level, by the role matrix (and a system client's scopes)."""
    if level == SYSTEM:
        found: tuple[str, ...] = DIRECTORY_TYPES if sees_every_organization(actor) else ()
    else:
        patients = ("Patient",) if may(actor.role, Can.READ_FHIR_PATIENT) else ()
        clinical = CLINICAL_TYPES if may(actor.role, Can.READ_FHIR_MEDBOOK) else ()
        found = patients + clinical
    if actor.scopes is not None:
        found = tuple(t for t in found if _scope_allows(actor.scopes, t))
    return found


def _types(asked: tuple[str, ...] | None, level: str, allowed: tuple[str, ...], lenient: bool) -> tuple[str, ...]:
    if asked is None:
        if not allowed:
            raise FhirError(403, Issue("forbidden", "fhir.export_forbidden", NOTHING_TO_EXPORT))
        return allowed
    chosen: list[str] = []
    for rtype in asked:
        if rtype not in LEVEL_TYPES[level]:
            if lenient:
                continue
            code = "not-supported" if rtype in KNOWN_TYPES or rtype[:1].isupper() else "invalid"
            raise FhirError(400, Issue(code, "fhir.export_type", UNSUPPORTED_TYPE, {"type": rtype[:60]}, ("_type",)))
        if rtype not in allowed:
            raise FhirError(
                403, Issue("forbidden", "fhir.export_forbidden", FORBIDDEN_TYPE, {"type": rtype}, ("_type",))
            )
        chosen.append(rtype)
    if not chosen:
        raise FhirError(403, Issue("forbidden", "fhir.export_forbidden", NOTHING_TO_EXPORT))
    return tuple(chosen)


def may_see_group(actor: Actor, group_id: int) -> bool:
    """Tell whether an actor may see an organization's Group: the Fund, and the organization's own accounts."""
    return sees_every_organization(actor) or (actor.entity_id is not None and actor.entity_id == group_id)


def check_accept(accept: str) -> None:
    """Refuse an Accept header that admits no JSON (the kick-off answers errors as OperationOutcome)."""
    if accept and not any(a in accept for a in ACCEPTED):
        raise _bad("Accept", "application/fhir+json")


def kick_off(
    *,
    session: Session,
    actor: Actor,
    level: str,
    group_id: int | None,
    items: Sequence[tuple[str, str]],
    prefer: str,
    accept: str,
    purpose: str,
    request: str,
    now: dt.datetime,
) -> BulkExport:
    """Check and queue an export; return it (its id names the status URL). Refuses with an OperationOutcome:
    400 without ``Prefer: respond-async`` or with a parameter or type not supported (ignored when lenient), 403 for
    a level or type the actor may not export, 404 for a Group that is missing or not the actor's."""
    wanted = prefers(prefer)
    if "respond-async" not in wanted:
        raise FhirError(400, Issue("invalid", "fhir.export_async", ASYNC_REQUIRED, {}, ("Prefer",)))
    check_accept(accept)
    lenient = "handling=lenient" in wanted
    asked = parse(items, lenient=lenient)
    if level == SYSTEM and not sees_every_organization(actor):
        raise FhirError(403, Issue("forbidden", "fhir.export_forbidden", FORBIDDEN_LEVEL))
    stated = ""
    if level == GROUP:
        assert group_id is not None
        if not may_see_group(actor, group_id) or session.get(Entity, group_id) is None:
            raise group_not_found(group_id)
        if actor.entity_id == group_id:
            stated = OWN_PURPOSE  # the organization's own population: no purpose to state (issue 14)
        else:
            reason = stated_problem(purpose)
            if reason is not None:
                raise PurposeRequired(reason=reason)
            stated = purpose
    types = _types(asked.types, level, exportable(actor, level), lenient)
    export = BulkExport(
        account_id=actor.account_id,
        entity_id=actor.entity_id,
        level=level,
        group_id=group_id,
        types=",".join(types),
        since=asked.since,
        purpose=stated[:200],
        request=request,
        state="queued",
        requested_at=now,
        progress="queued",
    )
    session.add(export)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action=KICKOFF_ACTION,
        object_type=OBJECT,
        object_id=str(export.id),
        purpose=f"{level} {group_id or ''} {export.types}".replace("  ", " ")[:200],
        now=now,
    )
    return export


# --- status, manifest, files and cancellation ------------------------------------------------------------------


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """An instant read back as aware UTC (SQLite gives stored UTC back naive)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def expired(export: BulkExport, now: dt.datetime) -> bool:
    """Tell whether an export's files have expired."""
    ends = aware(export.expires_at)
    return ends is not None and ends <= now


def own_export(*, session: Session, actor: Actor, export_id: int, now: dt.datetime, lock: bool = False) -> BulkExport:
    """Return the actor's own export, still alive (not cancelled, not expired); 404 otherwise, whoever asks."""
    query = select(BulkExport).where(BulkExport.id == export_id)
    export = session.scalar(query.with_for_update() if lock else query)
    if export is None or export.account_id != actor.account_id or export.state == "cancelled" or expired(export, now):
        raise gone(export_id)
    return export


def files_of(session: Session, export_id: int) -> list[tuple[int, str, int]]:
    """Return the files of an export: (id, type, count), in the order of their types and numbers."""
    rows = session.execute(
        select(BulkExportFile.id, BulkExportFile.resource_type, BulkExportFile.count)
        .where(BulkExportFile.export_id == export_id)
        .order_by(BulkExportFile.id)
    ).all()
    return [(int(i), str(t), int(c)) for i, t, c in rows]


def manifest(session: Session, export: BulkExport, base: str) -> dict[str, Any]:
    """Return the completion manifest of a finished export (IG v2: transactionTime, request, requiresAccessToken,
    output with type, url and count, error)."""
    moment = aware(export.transaction_time) or aware(export.requested_at)
    assert moment is not None
    return {
        "transactionTime": moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "request": export.request,
        "requiresAccessToken": True,
        "output": [
            {"type": rtype, "url": f"{base}/$export-file/{export.id}/{fid}", "count": count}
            for fid, rtype, count in files_of(session, export.id)
        ],
        "error": [],
    }


def file_data(*, session: Session, actor: Actor, export_id: int, file_id: int, now: dt.datetime) -> bytes:
    """Return the NDJSON bytes of one file of the actor's own finished export; 404 otherwise."""
    export = own_export(session=session, actor=actor, export_id=export_id, now=now)
    data = session.scalar(
        select(BulkExportFile.data).where(BulkExportFile.id == file_id, BulkExportFile.export_id == export.id)
    )
    if export.state != "done" or data is None:
        raise gone(export_id)
    return bytes(data)


def cancel(*, session: Session, actor: Actor, export_id: int, now: dt.datetime) -> None:
    """Cancel the actor's export (queued, running or done) and delete its files; a running export stops at its
    next page. Later status requests answer 404."""
    export = own_export(session=session, actor=actor, export_id=export_id, now=now, lock=True)
    export.state = "cancelled"
    export.finished_at = export.finished_at or now
    export.progress = "cancelled"
    session.execute(delete(BulkExportFile).where(BulkExportFile.export_id == export.id))
    record_event(
        session=session, actor=actor, action="fhir.export.cancel", object_type=OBJECT, object_id=str(export.id), now=now
    )


# --- the Group resource --------------------------------------------------------------------------------------------


def members(group_id: int, day: dt.date) -> Any:
    """Return the subquery of the person ids (``person_id``) of an organization's Group on a day: attached to it,
    or holding a medical book it issued. It reads the organization's own rows (by their entity indexes), never
    the whole register."""
    return union(
        select(Attachment.person_id.label("person_id")).where(Attachment.entity_id == group_id, active_on(day)),
        select(MedicalBook.person_id.label("person_id")).where(MedicalBook.entity_id == group_id),
    ).subquery("members")


def read_group(*, session: Session, actor: Actor, group_id: int, day: dt.date) -> dict[str, Any]:
    """Return an organization's population as a FHIR Group (type person, actual, its size, the organization as
    managing entity), without its members; 404 for a missing Group and for another organization's."""
    entity = session.get(Entity, group_id) if may_see_group(actor, group_id) else None
    if entity is None:
        raise group_not_found(group_id)
    quantity = session.scalar(select(func.count()).select_from(members(group_id, day))) or 0
    included = session.scalar(select(Entity.id).where(Entity.id == group_id, included_on(day))) is not None
    return {
        "resourceType": "Group",
        "id": str(entity.id),
        "identifier": [{"system": systems.BIN, "value": entity.bin}],
        "active": included,
        "type": "person",
        "actual": True,
        "name": entity.name_ru,
        "quantity": quantity,
        "managingEntity": resources.reference("Organization", entity.id, entity.name_ru),
        "characteristic": [
            {
                "code": {"text": "attached to the organization or holding a medical book it issued"},
                "valueReference": resources.reference("Organization", entity.id),
                "exclude": False,
            }
        ],
    }


# --- the run -------------------------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of an export: the resources, the last key read, and the people (and books) whose data it holds."""

    found: list[dict[str, Any]]
    last: int
    people: list[int]
    books: list[tuple[int, int]]  # (book, person)
    read: int  # rows read: fewer than FILE_SIZE ends the type


Reader = Callable[[Session, BulkExport, int, dt.date], Page]


def _since(resource: dict[str, Any], since: dt.datetime | None) -> bool:
    """Tell whether a resource changed after ``_since``: its ``meta.lastUpdated`` is later (one without is kept)."""
    if since is None:
        return True
    updated = (resource.get("meta") or {}).get("lastUpdated")
    if not updated:
        return True
    return dt.datetime.fromisoformat(str(updated).replace("Z", "+00:00")) > since


DIRECTORY_IDS = {
    versions.ORGANIZATION: Entity.id,
    versions.LOCATION: Site.id,
    versions.PRACTITIONER: Practitioner.id,
    versions.ROLE: Post.id,
}


def _directory(rtype: str) -> Reader:
    def read(session: Session, export: BulkExport, after: int, day: dt.date) -> Page:
        """A page of a directory type as served at its read (fhir/versions.py: with its ``meta``, a changed
        resource recorded as a new version), filtered by ``_since`` on its ``meta.lastUpdated``."""
        column = DIRECTORY_IDS[rtype]
        ids = [int(i) for i in session.scalars(select(column).where(column > after).order_by(column).limit(FILE_SIZE))]
        rendered = versions.render(session, rtype, ids, day)
        found = versions.served(session, rtype, [rendered[i] for i in ids if i in rendered], clock.now())
        since = aware(export.since)
        return Page([r for r in found if _since(r, since)], ids[-1] if ids else after, [], [], len(ids))

    return read


def _person_changed(since: dt.datetime) -> Any:
    """The SQL condition on ``Person``: changed after an instant, as a Patient's ``meta.lastUpdated`` says
    (registry.patient_meta: the latest link of the person's identity or attachment hash chains, or the
    registration)."""
    return or_(
        Person.created_at > since,
        exists().where(
            ChainLink.kind.in_(("person", "attachment")),
            ChainLink.chain_key == cast(Person.id, String),
            ChainLink.linked_at > since,
        ),
    )


def _patients(session: Session, export: BulkExport, after: int, day: dt.date) -> Page:
    assert export.group_id is not None
    group = members(export.group_id, day)
    query = (
        select(Person)
        .join(group, group.c.person_id == Person.id)
        .where(Person.id > after)
        .options(selectinload(Person.addresses))
        .order_by(Person.id)
        .limit(FILE_SIZE)
    )
    since = aware(export.since)
    if since is not None:
        query = query.where(_person_changed(since))
    people = list(session.scalars(query))
    ids = [p.id for p in people]
    attached: dict[int, Entity] = {}
    if ids:
        for person_id, entity in session.execute(
            select(Attachment.person_id, Entity)
            .join(Entity, Entity.id == Attachment.entity_id)
            .where(Attachment.person_id.in_(ids), active_on(day))
            .order_by(Attachment.begin_date)
        ):
            attached[int(person_id)] = entity
    found = []
    for p in people:
        resource = resources.patient(p, attached.get(p.id), day)
        found.append(versions.with_meta(resource, *registry.patient_meta(session, p, resource)))
    return Page(found, ids[-1] if ids else after, ids, [], len(ids))


def _clinical(rtype: str) -> Reader:
    def read(session: Session, export: BulkExport, after: int, day: dt.date) -> Page:
        del day  # the reader's signature
        assert export.group_id is not None
        later = aliased(JournalEntry)
        superseded = exists().where(later.supersedes_id == JournalEntry.id, later.signature_state == SIGNED)
        query = (
            select(JournalEntry, MedicalBook.person_id)
            .join(MedicalBook, MedicalBook.id == JournalEntry.book_id)
            .where(
                MedicalBook.entity_id == export.group_id,
                JournalEntry.kind.in_(KINDS[rtype]),
                JournalEntry.id > after,
                ~superseded,
                or_(JournalEntry.supersedes_id.is_(None), JournalEntry.signature_state == SIGNED),
            )
            .order_by(JournalEntry.id)
            .limit(FILE_SIZE)
        )
        since = aware(export.since)
        if since is not None:
            query = query.where(JournalEntry.recorded_at > since)
        rows = session.execute(query).all()
        # A journal entry never changes (a correction is an entry of its own, C-41): version 1, as recorded.
        found = [
            versions.with_meta(entry_resource(e, resources.reference("Patient", person)), 1, e.recorded_at)
            for e, person in rows
        ]
        books = list(dict.fromkeys((e.book_id, int(person)) for e, person in rows))
        return Page(found, rows[-1][0].id if rows else after, [], books, len(rows))

    return read


READERS: dict[str, Reader] = {
    **{t: _directory(t) for t in DIRECTORY_TYPES},
    "Patient": _patients,
    **{t: _clinical(t) for t in CLINICAL_TYPES},
}


def ndjson(found: Iterable[dict[str, Any]]) -> bytes:
    """Return resources as NDJSON: one compact JSON resource per line, empty elements pruned."""
    return b"".join(json.dumps(prune(r), ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for r in found)


def _log(session: Session, actor: Actor, export: BulkExport, page: Page, logged: set[int], now: dt.datetime) -> None:
    """Log every person whose data a page exports (once per export for a book), in the page's transaction."""
    rows = [
        event_row(
            actor=actor,
            action=registry.READ_ACTION,
            object_type=OBJECT,
            object_id=export.id,
            subject_person_id=person,
            purpose=export.purpose,
            at=now,
        )
        for person in page.people
    ]
    for book, person in page.books:
        if book not in logged:
            logged.add(book)
            rows.append(
                event_row(
                    actor=actor,
                    action=views.FHIR_READ_ACTION,
                    object_type=views.BOOK,
                    object_id=book,
                    subject_person_id=person,
                    purpose=export.purpose,
                    at=now,
                )
            )
    written = write_events(session, rows)
    if written:
        chain.note_new(session, "audit", [r["id"] for r in written], rows=written)  # the owner's chain
        identity.flag_reads(session=session, actor=actor, day=clock.kz_date(now))


class Stopped(Exception):
    """The export was cancelled (or taken by another run) while it ran."""


def _actor(session: Session, export: BulkExport) -> Actor:
    """Return the actor of the account that asked, if it may still export what it asked for; else raise."""
    account = session.get(Account, export.account_id)
    if account is None or not account.active or account.entity_id != export.entity_id:
        raise PermissionError(ACCOUNT_CHANGED)
    actor = actor_of(account)
    allowed = exportable(actor, export.level)
    if export.level == SYSTEM and actor.role is not Role.FUND_ADMIN:
        raise PermissionError(ACCOUNT_CHANGED)
    if any(t not in allowed for t in export.types.split(",")):
        raise PermissionError(ACCOUNT_CHANGED)
    return actor


def _running(session: Session, export_id: int) -> BulkExport:
    export = session.scalar(select(BulkExport).where(BulkExport.id == export_id).with_for_update())
    if export is None or export.state != "running":
        raise Stopped()
    return export


def run_export(engine: Engine, export_id: int, *, pause: float = 0.0) -> int:
    """Run one claimed export, page after page, each page one NDJSON file and one transaction; return how many
    resources it wrote. A cancelled export stops at its next page; a failure marks it failed with the reason."""
    sessions = make_sessionmaker(engine)
    written = 0
    logged: set[int] = set()
    try:
        with unit_of_work(sessions) as session:
            export = _running(session, export_id)
            types = export.types.split(",")
            day = clock.kz_date(aware(export.transaction_time) or clock.now())
        for rtype in types:
            after, seq, total = 0, 0, 0
            while True:
                if pause and seq:
                    time.sleep(pause)  # SQLite: let the web's requests take the write lock between pages
                with unit_of_work(sessions) as session:
                    export = _running(session, export_id)
                    actor = _actor(session, export)
                    page = READERS[rtype](session, export, after, day)
                    found = page.found
                    now = clock.now()
                    if found:
                        seq += 1
                        total += len(found)
                        session.add(
                            BulkExportFile(
                                export_id=export_id, resource_type=rtype, seq=seq, count=len(found), data=ndjson(found)
                            )
                        )
                        _log(session, actor, export, page, logged, now)
                    export.progress = f"{rtype}: {total}"[:200]
                    export.heartbeat_at = now
                    after = page.last
                written += len(found)
                if page.read < FILE_SIZE:
                    break
        with unit_of_work(sessions) as session:
            export = _running(session, export_id)
            actor = _actor(session, export)
            now = clock.now()
            export.state, export.finished_at, export.expires_at = "done", now, now + KEEP
            export.progress = "done"
            record_event(
                session=session,
                actor=actor,
                action=DONE_ACTION,
                object_type=OBJECT,
                object_id=str(export_id),
                purpose=f"{written} resources"[:200],
                now=now,
            )
    except Stopped:
        return written
    # Any failure of one export is recorded on it (the client's status says so) and the job goes on with the next.
    except Exception as exc:
        with unit_of_work(sessions) as session:
            now = clock.now()
            session.execute(delete(BulkExportFile).where(BulkExportFile.export_id == export_id))
            session.execute(
                update(BulkExport)
                .where(BulkExport.id == export_id, BulkExport.state == "running")
                .values(
                    state="failed",
                    error=(str(exc) if isinstance(exc, PermissionError) else f"{type(exc).__name__}: {exc}")[:2000],
                    finished_at=now,
                    expires_at=now + KEEP,
                    progress="failed",
                )
            )
    return written


def purge(engine: Engine, now: dt.datetime) -> int:
    """Delete the files of expired, cancelled and failed exports; put back in the queue an export whose run was
    interrupted (no page for ``STALE``), its files deleted; return how many files were deleted."""
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        dead = select(BulkExport.id).where(
            or_(
                BulkExport.state.in_(("cancelled", "failed")),
                and_(BulkExport.expires_at.is_not(None), BulkExport.expires_at <= now),
            )
        )
        stale = list(
            session.scalars(
                select(BulkExport.id).where(
                    BulkExport.state == "running",
                    or_(BulkExport.heartbeat_at.is_(None), BulkExport.heartbeat_at < now - STALE),
                )
            )
        )
        gone_files = session.execute(delete(BulkExportFile).where(BulkExportFile.export_id.in_(dead)))
        if stale:
            session.execute(delete(BulkExportFile).where(BulkExportFile.export_id.in_(stale)))
            session.execute(
                update(BulkExport).where(BulkExport.id.in_(stale)).values(state="queued", progress="queued")
            )
    return int(getattr(gone_files, "rowcount", 0) or 0)


def claim(engine: Engine, now: dt.datetime) -> int | None:
    """Take the oldest queued export for this run (state running, its transaction time now); None when none."""
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        export_id = session.scalar(
            select(BulkExport.id).where(BulkExport.state == "queued").order_by(BulkExport.requested_at, BulkExport.id)
        )
        if export_id is None:
            return None
        taken = session.execute(
            update(BulkExport)
            .where(BulkExport.id == export_id, BulkExport.state == "queued")
            .values(state="running", transaction_time=now, heartbeat_at=now, progress="running")
        )
        return int(export_id) if getattr(taken, "rowcount", 0) == 1 else None


def run_due(engine: Engine, *, pause: float = 0.0, limit: int = 100) -> int:
    """The export job: purge what expired, then run the queued exports oldest first (at most ``limit``); return
    how many resources were exported."""
    purge(engine, clock.now())
    done = 0
    for _ in range(limit):
        export_id = claim(engine, clock.now())
        if export_id is None:
            break
        done += run_export(engine, export_id, pause=pause)
    return done


# --- the CapabilityStatement's lines (emhana/fhir/capability.py) ---------------------------------------------------

INSTANTIATES = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
OPERATION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"


def capability_operations() -> list[dict[str, Any]]:
    """Return the system-level operations of the CapabilityStatement: ``$export``."""
    return [
        {
            "name": "export",
            "definition": OPERATION + "export",
            "documentation": "FHIR Bulk Data export (Prefer: respond-async; _type, _since, _outputFormat NDJSON): "
            "the Fund only, the directory only (Organization, Location, Practitioner, PractitionerRole)",
        }
    ]


def capability_group() -> dict[str, Any]:
    """Return the Group resource of the CapabilityStatement: read, and ``$export`` of an organization's Group."""
    return {
        "type": "Group",
        "interaction": [{"code": "read"}],
        "documentation": "Group/{organization id}: the people attached to the organization or holding a medical book "
        "it issued; readable and exportable by its own accounts and the Fund",
        "operation": [
            {
                "name": "export",
                "definition": OPERATION + "group-export",
                "documentation": "Patient (for roles that read Patients) and Observation, DiagnosticReport, "
                "Immunization, Condition of the books the organization issued (for roles that read medical books); "
                "the Fund exports Patients only, with X-Purpose-Of-Use",
            }
        ],
    }
