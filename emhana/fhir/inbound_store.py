"""Writing an inbound transaction Bundle's resources into a worker's book, in bundle order, with the ledger of
what was received (``InboundResource``: source, type, id, version) that makes a resent version harmless (issue 17).

Versions. A resource's version is its ``meta.versionId``; without one, its content stands for it (the SHA-256 of
the resource without ``meta``, RFC 8785), so a resent resource is a duplicate and a changed one a new version.
The same version with other content is a conflict (409 ``fhir.version_conflict``); an explicit numeric version
older than one received is stale (409 ``fhir.stale_version``); a new version corrects the entry of the latest one
(C-41); ``entered-in-error`` retracts it (``medbook.journal.retract``). Ledger rows received before migration 0026
kept no content: their content is unknown, never a conflict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.fhir import jcs, mapping, outcome
from emhana.fhir.inbound_checks import RETRACTED, VERSION_CONFLICT, Finding, Rejected, unknown_retraction
from emhana.fhir.models import InboundBundle, InboundResource
from emhana.fhir.outcome import Issue
from emhana.kernel.errors import RegistryError
from emhana.kernel.fastsql import Fast
from emhana.kernel.i18n import N_, translate
from emhana.medbook import journal as medbook_journal
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.schemas import ClinicalKind, CorrectionIn, EntryIn
from emhana.trust.chain.kinds import table_of

OTHER_WORKER = N_("{type}/{id} was received for another worker; a resource keeps its subject.")
SUBJECT_FIELD = {
    "Observation": "subject",
    "DiagnosticReport": "subject",
    "Immunization": "patient",
    "Condition": "subject",
}


@dataclass(frozen=True)
class Item:
    """A clinical resource of the bundle ready to be written (or, ``retract``, withdrawn)."""

    position: int
    resource_type: str
    resource_id: str
    version: str
    full_url: str
    kind: str
    item_code: str
    facts: mapping.Facts
    clinical_status: str | None = None  # a Condition's, as the journal records it (C-30)
    body: bytes = b""  # the resource as received, RFC 8785 (canonical.resource_bytes)
    retract: bool = False  # entered-in-error: the entry of the resource received before is retracted
    explicit: bool = True  # the version is the resource's meta.versionId (else its content hash)
    content: str = ""  # content_key of the resource


@dataclass(frozen=True)
class Ledger:
    """One resource version received (a row of the ledger, ``InboundResource``), as the checks read it."""

    resource_type: str
    resource_id: str
    version: str
    entry_id: int
    body: bytes | None
    content: str | None = None  # its content_key, when the writer knows it (else computed from ``body``)


@dataclass(frozen=True)
class ItemResult:
    position: int
    resource_type: str
    resource_id: str
    version: str
    entry_id: int
    created: bool


# The reasons written into the book, in the book's language (kk or ru), naming the resource the MIS sent.
RETRACTED_REASON = N_(
    "The medical information system withdrew this result as entered in error (its record {reference})."
)
UPDATED_REASON = N_("The medical information system sent a new version of this result (its record {reference}).")


def source_of(account_id: int) -> str:
    """Return the source system of an MIS account (idempotency keys are scoped by it)."""
    return f"account/{account_id}"


def content_key(resource: Mapping[str, Any], body: bytes | None = None) -> str:
    """Return the SHA-256 of a resource without ``meta`` (RFC 8785): what a version's content is compared by.

    ``body``: the resource's RFC 8785 bytes when the caller has them (``canonical.resource_bytes``), used as they
    are for a resource without ``meta``."""
    if body is not None and "meta" not in resource:
        return hashlib.sha256(body).hexdigest()
    return hashlib.sha256(jcs.dumps({k: v for k, v in resource.items() if k != "meta"})).hexdigest()


def version_of(resource: Mapping[str, Any], content: str | None = None) -> tuple[str, bool]:
    """Return a resource's version and whether the MIS gave it (``meta.versionId``), else its content key
    (``content``, when the caller has it)."""
    given = (resource.get("meta") or {}).get("versionId")
    if isinstance(given, str) and given:
        return given[:64], True
    return content or content_key(resource), False


def _stored_content(row: Ledger) -> str | None:
    """Return a ledger row's content key, or None when its body was not kept (received before 0026)."""
    if row.content:
        return row.content
    if not row.body:
        return None
    return content_key(json.loads(row.body))


def _numeric(version: str) -> int | None:
    return int(version) if version.isdigit() and len(version) < 19 else None


Known = dict[tuple[str, str], list[Ledger]]
_LEDGER = table_of(InboundResource)
_INSERT_LEDGER = Fast(insert(_LEDGER))


def received(session: Session, source: str, items: list[Item]) -> Known:
    """Return the versions already received of the bundle's resources, by (type, id), in the order received
    (one query, no ORM objects)."""
    known: Known = {}
    ids, types = sorted({i.resource_id for i in items}), sorted({i.resource_type for i in items})
    c = _LEDGER.c
    for r in session.execute(  # the types too: the ledger's unique index then finds the rows at once (source,
        select(c.resource_type, c.resource_id, c.version, c.entry_id, c.body)  # type, id), whatever the history
        .where(c.source == source, c.resource_type.in_(types), c.resource_id.in_(ids))
        .order_by(c.id)
    ):
        row = Ledger(r.resource_type, r.resource_id, r.version, int(r.entry_id), r.body)
        known.setdefault((row.resource_type, row.resource_id), []).append(row)
    return known


def _issue(
    item: Item, status: int, code: str, emhana_code: str, template: str, element: str, **params: Any
) -> Rejected:
    expression = f"Bundle.entry[{item.position}].resource{element}"
    issue = Issue(code, emhana_code, template, params, (expression,))
    return Rejected(status, [Finding(item.position, item.resource_type, item.resource_id, issue)])


def _same_version(earlier: list[Ledger], item: Item) -> Ledger | None:
    """Return the ledger row the item repeats, or None; the same explicit version with other content is refused."""
    for row in earlier:
        if row.version == item.version:
            stored = _stored_content(row)
            if item.explicit and stored is not None and stored != item.content:
                raise _issue(
                    item,
                    409,
                    "conflict",
                    "fhir.version_conflict",
                    VERSION_CONFLICT,
                    ".meta.versionId",
                    version=item.version,
                    type=item.resource_type,
                    id=item.resource_id,
                )
            return row
    if not item.explicit:  # no version given: the same content received before (under any version) is a repeat
        return next((row for row in earlier if _stored_content(row) == item.content), None)
    return None


def _stale(earlier: list[Ledger], item: Item) -> Rejected | None:
    """Return the refusal of an explicit numeric version older than one already received, or None."""
    mine = _numeric(item.version) if item.explicit else None
    newest = max((n for r in earlier if (n := _numeric(r.version)) is not None), default=None)
    if mine is None or newest is None or mine >= newest:
        return None
    return _issue(
        item,
        409,
        "conflict",
        "fhir.stale_version",
        outcome.STALE_VERSION,
        ".meta.versionId",
        version=item.version,
        current=str(newest),
    )


def write_all(
    session: Session,
    actor: Actor,
    book: MedicalBook,
    bundle: InboundBundle,
    items: list[Item],
    known: Known,
    now: dt.datetime,
) -> list[ItemResult]:
    """Write the items in bundle order: new resources in batches through ``medbook_journal.record_batch`` (one
    insert for the batch), a newer version as a correction of its entry (C-41), entered-in-error as a retraction
    of it, a version already received not again; then the bundle, when it is new (not yet in the session: it is
    added with the count of resources it created), and the ledger rows of every version written, in one insert.

    A batch is written before a correction or a retraction, and before a resource the batch already holds appears
    again (the same resource twice in one bundle: the second is a duplicate or a newer version of the first). A
    refusal anywhere raises ``Rejected``: the caller rolls back everything written before it.
    """
    source = source_of(bundle.account_id)
    results: dict[int, ItemResult] = {}
    batch: list[tuple[Item, EntryIn]] = []
    in_batch: set[tuple[str, str]] = set()
    pending: list[dict[str, Any]] = []  # ledger rows, inserted at the end

    def write_batch() -> None:
        if not batch:
            return
        try:
            ids = medbook_journal.record_batch(
                session=session, actor=actor, book_id=book.id, entries=[data for _, data in batch], now=now
            )
        except medbook_journal.EntryRefused as exc:
            raise refused(batch[exc.index][0], exc.error) from None
        except RegistryError as exc:  # about the book as a whole: reported at the batch's first resource
            raise refused(batch[0][0], exc) from None
        for (item, _), entry_id in zip(batch, ids, strict=True):
            results[item.position] = received_as(pending, source, bundle, item, entry_id, known, now)
        batch.clear()
        in_batch.clear()

    for item in items:
        key = (item.resource_type, item.resource_id)
        if key in in_batch:
            write_batch()
        earlier = known.setdefault(key, [])
        try:
            same = _same_version(earlier, item)
        except Rejected:
            write_batch()  # an earlier resource's refusal comes first, as when each was written in turn
            raise
        if same is not None:
            results[item.position] = ItemResult(
                item.position, item.resource_type, item.resource_id, item.version, same.entry_id, False
            )
            continue
        stale = _stale(earlier, item)
        latest = earlier[-1] if earlier else None
        if stale is not None or (latest is None and item.retract):
            write_batch()
            raise stale or unknown_retraction(item.position, _as_resource(item))
        if latest is None:
            batch.append((item, _entry_in(item)))
            in_batch.add(key)
            continue
        write_batch()
        results[item.position] = _change(session, actor, book, bundle, item, latest, known, now, pending)
    write_batch()
    ordered = [results[item.position] for item in items]
    if bundle.id is None:  # a bundle received now: inserted once, with what it created (no UPDATE after)
        bundle.resources = sum(1 for r in ordered if r.created)
        session.add(bundle)
        session.flush()
    for row in pending:
        row["bundle_id"] = bundle.id
    _INSERT_LEDGER.many(session.connection(), pending)
    return ordered


def _as_resource(item: Item) -> dict[str, Any]:
    return json.loads(item.body) if item.body else {"resourceType": item.resource_type, "id": item.resource_id}


def _fields(item: Item) -> dict[str, Any]:
    return {
        "kind": ClinicalKind(item.kind),
        "item_code": item.item_code,
        "performed_on": item.facts.performed_on,
        "result": item.facts.result,
        "result_text": item.facts.result_text,
        "codes": list(item.facts.codes),
        "clinical_status": item.clinical_status,
    }


def _invalid(item: Item, exc: ValidationError) -> Rejected:
    return _issue(
        item,
        422,
        "invalid",
        "fhir.invalid_resource",
        outcome.INVALID_RESOURCE,
        "",
        reason=str(exc.errors()[0].get("msg", ""))[:200],
    )


def _entry_in(item: Item) -> EntryIn:
    try:
        return EntryIn(**_fields(item))
    except ValidationError as exc:
        raise _invalid(item, exc) from None


def _change(
    session: Session,
    actor: Actor,
    book: MedicalBook,
    bundle: InboundBundle,
    item: Item,
    latest: Ledger,
    known: Known,
    now: dt.datetime,
    pending: list[dict[str, Any]],
) -> ItemResult:
    """Correct (a new version) or retract (entered-in-error) the entry of the latest version received."""
    source = source_of(bundle.account_id)
    received_entry = session.get(JournalEntry, latest.entry_id)
    if received_entry is None or received_entry.book_id != book.id:
        if item.retract:
            raise unknown_retraction(item.position, _as_resource(item))
        element = f".{SUBJECT_FIELD.get(item.resource_type, 'subject')}"
        raise _issue(
            item,
            422,
            "business-rule",
            "fhir.other_worker",
            OTHER_WORKER,
            element,
            type=item.resource_type,
            id=item.resource_id,
        )
    head = medbook_journal.current_version(session, received_entry)
    if head.retracted:
        if item.retract:  # withdrawn already: noted, nothing written
            result = received_as(pending, source, bundle, item, head.id, known, now)
            return ItemResult(result.position, result.resource_type, result.resource_id, result.version, head.id, False)
        raise _issue(
            item, 409, "conflict", "fhir.retracted", RETRACTED, "", type=item.resource_type, id=item.resource_id
        )
    try:
        if item.retract:
            reason = translate(
                book.language, RETRACTED_REASON, {"reference": f"{item.resource_type}/{item.resource_id}"}
            )
            entry = medbook_journal.retract(session=session, actor=actor, entry_id=head.id, reason=reason, now=now)
        else:
            reason = translate(book.language, UPDATED_REASON, {"reference": f"{item.resource_type}/{item.resource_id}"})
            entry = medbook_journal.correct(
                session=session,
                actor=actor,
                entry_id=latest.entry_id,
                data=CorrectionIn(**_fields(item), reason=reason),
                now=now,
            )
    except RegistryError as exc:
        raise refused(item, exc) from None
    except ValidationError as exc:
        raise _invalid(item, exc) from None
    return received_as(pending, source, bundle, item, entry.id, known, now)


def refused(item: Item, exc: RegistryError) -> Rejected:
    """Return the refusal of an item by a rule of the medical book."""
    return Rejected(
        exc.status if exc.status in (403, 409) else 422,
        [
            Finding(
                item.position,
                item.resource_type,
                item.resource_id,
                Issue(
                    "business-rule",
                    exc.code,
                    exc.template(),
                    dict(exc.params),
                    (f"Bundle.entry[{item.position}].resource",),
                ),
            )
        ],
    )


def received_as(
    pending: list[dict[str, Any]],
    source: str,
    bundle: InboundBundle,
    item: Item,
    entry_id: int,
    known: Known,
    now: dt.datetime,
) -> ItemResult:
    """Note a resource version as received (a row of the ledger of idempotency, added to ``pending``, which the
    caller inserts) and return its result."""
    pending.append(
        {
            "source": source,
            "resource_type": item.resource_type,
            "resource_id": item.resource_id,
            "version": item.version,
            "bundle_id": bundle.id,  # set again once a new bundle is inserted (write_all)
            "entry_id": entry_id,
            "received_at": now,
            "content_sha256": hashlib.sha256(item.body).hexdigest() if item.body else "",
            "body": item.body or None,
        }
    )
    row = Ledger(item.resource_type, item.resource_id, item.version, entry_id, item.body or None, item.content or None)
    known.setdefault((item.resource_type, item.resource_id), []).append(row)
    return ItemResult(item.position, item.resource_type, item.resource_id, item.version, entry_id, True)
