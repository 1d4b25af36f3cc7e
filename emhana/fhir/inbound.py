"""Inbound sync: an MIS posts a transaction Bundle of Observation, DiagnosticReport (X-ray), Immunization and
Condition resources for one worker; they become journal entries of the worker's medical book (C-12, C-13).

Order of checks, all before anything is written: JSON, Bundle of type transaction, FHIR R4 validation of
every resource (fhir.resources), accepted resource types, one worker identified by IIN with a book, every
code mapped (the ``fhir_code_map`` table), the authoring clinician's signature (``signature``, over
``canonical.signed_bytes``). Then each resource is written through the medical-book service (its rules
apply: C-40 staff of the issuing organization, C-30 suspension and referral) unless its (source, type, id,
version) was already received; a newer version corrects the entry of the older one (C-41).

All or nothing: any problem raises ``Rejected`` with every finding; the door rolls the request back and then
keeps the bundle and its findings in the dead-letter queue (``deadletter.record_rejection``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities.models import Entity, Practitioner
from emhana.fhir import canonical, mapping, outcome, systems
from emhana.fhir.models import CodeMap, InboundBundle, InboundResource
from emhana.fhir.outcome import Issue
from emhana.fhir.signature import SignatureRejected, Trust, check_provenance
from emhana.identity.models import Person
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import N_
from emhana.medbook import journal as medbook_journal
from emhana.medbook.models import MedicalBook
from emhana.medbook.schemas import ClinicalKind, CorrectionIn, EntryIn

# A Condition (C-12, C-30) becomes a diagnosis entry with its ICD-10 codes and clinical status; an ICD-10 code the
# code map does not list is recorded under the kind below with the item DIAGNOSIS_ITEM (the journal checks the code).
DIAGNOSIS_ITEM = "diagnosis"
INFECTIOUS_LETTERS = ("A", "B", "Z22")  # ICD-10 chapter I and carrier states: a "past infectious disease" entry
NO_CLINICAL_STATUS = N_(
    "The Condition has no clinical status (active, recurrence, relapse, inactive, remission or resolved); a diagnosis "
    "is recorded as active or resolved."
)
NOT_A_DIAGNOSIS = N_(
    "The Condition's verification status is {status}: it is not a diagnosis and is not recorded; send a new version "
    "with the clinical status resolved to end a diagnosis already received."
)
SUBJECT_FIELD = {
    "Observation": "subject",
    "DiagnosticReport": "subject",
    "Immunization": "patient",
    "Condition": "subject",
}
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Finding:
    """One problem of a bundle: the entry position (None for the whole bundle), what it is, the issue."""

    position: int | None
    resource_type: str
    resource_id: str
    issue: Issue


class Rejected(Exception):  # noqa: N818 (a refusal, like the medbook rules' exceptions)
    """The bundle is refused as a whole; ``status`` is the HTTP status, ``findings`` every problem."""

    def __init__(self, status: int, findings: list[Finding]) -> None:
        self.status = status
        self.findings = findings
        super().__init__("; ".join(f.issue.english() for f in findings))


@dataclass(frozen=True)
class Item:
    """A clinical resource of the bundle ready to be written."""

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


@dataclass(frozen=True)
class ItemResult:
    position: int
    resource_type: str
    resource_id: str
    version: str
    entry_id: int
    created: bool


@dataclass(frozen=True)
class Accepted:
    bundle_id: int
    results: list[ItemResult]
    provenance_positions: list[int]


def source_of(account_id: int) -> str:
    """Return the source system of an MIS account (idempotency keys are scoped by it)."""
    return f"account/{account_id}"


def fhirpath(loc: Sequence[Any], root: str = "Bundle") -> str:
    """Turn a pydantic error location into a FHIRPath expression (entry, 0, resource -> entry[0].resource)."""
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def _bundle_issue(status: int, code: str, emhana_code: str, template: str, expression: str, **params: Any) -> Rejected:
    return Rejected(status, [Finding(None, "Bundle", "", Issue(code, emhana_code, template, params, (expression,)))])


def parse(body: bytes) -> dict[str, Any]:
    """Parse and structurally validate a transaction Bundle; raise Rejected (400) otherwise."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bundle_issue(
            400, "structure", "fhir.malformed_json", outcome.MALFORMED_JSON, "Bundle", reason=str(exc)[:200]
        ) from None
    found = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
    if not isinstance(doc, dict) or found != "Bundle" or doc.get("type") != "transaction":
        label = f"Bundle/{doc.get('type')}" if isinstance(doc, dict) and found == "Bundle" else str(found)
        raise _bundle_issue(
            400,
            "invalid",
            "fhir.not_transaction",
            outcome.NOT_A_BUNDLE,
            "Bundle.type" if found == "Bundle" else "Bundle",
            found=label,
        )
    entries = doc.get("entry")
    if not isinstance(entries, list) or not entries or len(entries) > MAX_ENTRIES:
        raise _bundle_issue(
            400,
            "invalid",
            "fhir.not_transaction",
            outcome.NOT_A_BUNDLE,
            "Bundle.entry",
            found=f"{len(entries) if isinstance(entries, list) else 0} entries",
        )
    findings: list[Finding] = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        rtype = str(resource.get("resourceType", "")) if isinstance(resource, dict) else ""
        if rtype not in (*mapping.CLINICAL_TYPES, "Provenance"):
            findings.append(
                Finding(
                    i,
                    rtype,
                    _id(resource),
                    Issue(
                        "not-supported",
                        "fhir.unsupported_type",
                        outcome.UNSUPPORTED_TYPE,
                        {"found": rtype or "-"},
                        (f"Bundle.entry[{i}].resource.resourceType",),
                    ),
                )
            )
    if findings:
        raise Rejected(422, findings)
    try:
        get_fhir_model_class("Bundle").model_validate(doc)
    except ValidationError as exc:
        for err in exc.errors():
            loc = list(err.get("loc", ()))
            position = loc[1] if len(loc) > 1 and loc[0] == "entry" and isinstance(loc[1], int) else None
            resource = entries[position].get("resource", {}) if position is not None else {}
            findings.append(
                Finding(
                    position,
                    str(resource.get("resourceType", "Bundle")),
                    _id(resource),
                    Issue(
                        "invalid",
                        "fhir.invalid_resource",
                        outcome.INVALID_RESOURCE,
                        {"reason": str(err.get("msg", ""))[:200]},
                        (fhirpath(loc),),
                    ),
                )
            )
        raise Rejected(400, findings) from None
    return doc


def _id(resource: Any) -> str:
    return str(resource.get("id", ""))[:64] if isinstance(resource, dict) else ""


def _subject_iin(resource: Mapping[str, Any], session: Session) -> str | None:
    ref = resource.get(SUBJECT_FIELD.get(str(resource.get("resourceType")), "subject")) or {}
    ident = ref.get("identifier") or {}
    if ident.get("system") == systems.IIN and isinstance(ident.get("value"), str):
        return str(ident["value"])
    literal = str(ref.get("reference", ""))
    if literal.startswith("Patient/") and literal[8:].isdigit():
        return session.scalar(select(Person.iin).where(Person.id == int(literal[8:])))
    return None


def _author_iin(provenance: Mapping[str, Any]) -> str | None:
    for agent in provenance.get("agent") or []:
        ident = (agent.get("who") or {}).get("identifier") or {}
        if ident.get("system") == systems.IIN and isinstance(ident.get("value"), str):
            return str(ident["value"])
    return None


def _codes_for(session: Session, rtype: str) -> dict[tuple[str, str], CodeMap]:
    rows = session.scalars(select(CodeMap).where(CodeMap.resource_type == rtype, CodeMap.active.is_(True)))
    return {(r.system, r.code): r for r in rows}


def _map_item(
    session: Session, i: int, resource: Mapping[str, Any], cache: dict[str, Any], findings: list[Finding]
) -> Item | None:
    rtype, rid = str(resource["resourceType"]), _id(resource)
    path = f"Bundle.entry[{i}].resource"
    if not rid:
        findings.append(
            Finding(
                i,
                rtype,
                rid,
                Issue(
                    "required",
                    "fhir.id_required",
                    outcome.INVALID_RESOURCE,
                    {"reason": "id is required"},
                    (f"{path}.id",),
                ),
            )
        )
        return None
    table = cache.get(rtype)
    if table is None:
        table = cache[rtype] = _codes_for(session, rtype)
    coded = list(mapping.codings(resource, path))
    if not coded:
        findings.append(
            Finding(
                i,
                rtype,
                rid,
                Issue("required", "fhir.no_code", outcome.NO_CODE, {}, (f"{path}.{mapping.CODE_FIELD[rtype]}",)),
            )
        )
        return None
    row = next((table[k] for c in coded for k in mapping.lookup_keys(c) if k in table), None)
    if rtype == "Condition":
        return _map_condition(i, resource, row, path, findings)
    if row is None:
        first = coded[0]
        findings.append(
            Finding(
                i,
                rtype,
                rid,
                Issue(
                    "code-invalid",
                    "fhir.unknown_code",
                    outcome.UNKNOWN_CODE,
                    {"system": first.system, "code": first.code},
                    tuple(c.expression for c in coded),
                ),
            )
        )
        return None
    found = mapping.facts(resource, path)
    if found.performed_on is None:
        findings.append(Finding(i, rtype, rid, Issue("required", "fhir.no_date", outcome.NO_DATE, {}, (path,))))
        return None
    version = str((resource.get("meta") or {}).get("versionId") or "1")[:64]
    return Item(i, rtype, rid, version, "", row.kind, row.item_code, found)


def _map_condition(
    i: int, resource: Mapping[str, Any], row: CodeMap | None, path: str, findings: list[Finding]
) -> Item | None:
    """Map a Condition to a diagnosis (C-12, C-30): refuted or entered-in-error is refused (it is no diagnosis),
    the clinical status is required, and an ICD-10 code the code map lacks still makes a diagnosis entry."""
    rid, before = _id(resource), len(findings)
    status = mapping.refuted(resource)
    if status is not None:
        issue = Issue("business-rule", "fhir.not_a_diagnosis", NOT_A_DIAGNOSIS, {"status": status}, (path,))
        findings.append(Finding(i, "Condition", rid, issue))
    clinical = mapping.clinical_status(resource)
    if clinical is None and status is None:
        issue = Issue("required", "fhir.no_clinical_status", NO_CLINICAL_STATUS, {}, (f"{path}.clinicalStatus",))
        findings.append(Finding(i, "Condition", rid, issue))
    icd = mapping.icd10_codes(resource, path)
    if row is None and not icd:
        first = next(iter(mapping.codings(resource, path)))
        issue = Issue(
            "code-invalid",
            "fhir.unknown_code",
            outcome.UNKNOWN_CODE,
            {"system": first.system, "code": first.code},
            (first.expression,),
        )
        findings.append(Finding(i, "Condition", rid, issue))
    found = replace(mapping.facts(resource, path), codes=icd)
    if found.performed_on is None:
        findings.append(Finding(i, "Condition", rid, Issue("required", "fhir.no_date", outcome.NO_DATE, {}, (path,))))
    if len(findings) > before:
        return None
    if row is not None:
        kind, item_code = row.kind, row.item_code
    else:
        infectious = any(c.upper().startswith(INFECTIOUS_LETTERS) for c in icd)
        kind = ClinicalKind.PAST_INFECTION.value if infectious else ClinicalKind.SPECIALIST_DIAGNOSIS.value
        item_code = DIAGNOSIS_ITEM
    version = str((resource.get("meta") or {}).get("versionId") or "1")[:64]
    diagnosis = kind in (ClinicalKind.PAST_INFECTION.value, ClinicalKind.SPECIALIST_DIAGNOSIS.value)
    return Item(i, "Condition", rid, version, "", kind, item_code, found, clinical if diagnosis else None)


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (-1, version)


def ingest(
    *,
    session: Session,
    actor: Actor,
    body: bytes,
    trust: Trust,
    now: dt.datetime,
    bundle: InboundBundle | None = None,
    signed_at: dt.datetime | None = None,
) -> Accepted:
    """Check a transaction Bundle and write its resources as journal entries; raise Rejected otherwise.

    ``bundle`` is the stored bundle when an operator replays it (the signature is then checked as of
    ``signed_at``, the time it was first received).
    """
    doc = parse(body)
    entries: list[dict[str, Any]] = doc["entry"]
    findings: list[Finding] = []
    clinical = [(i, e["resource"]) for i, e in enumerate(entries) if e["resource"]["resourceType"] != "Provenance"]
    provenances = [(i, e["resource"]) for i, e in enumerate(entries) if e["resource"]["resourceType"] == "Provenance"]
    if not clinical:
        raise _bundle_issue(
            400, "invalid", "fhir.not_transaction", outcome.NOT_A_BUNDLE, "Bundle.entry", found="no clinical resources"
        )
    # One worker, identified by IIN, with a book.
    iins = {i: _subject_iin(r, session) for i, r in clinical}
    for i, iin in iins.items():
        if iin is None:
            rtype = clinical_type(entries, i)
            findings.append(
                Finding(
                    i,
                    rtype,
                    _id(entries[i]["resource"]),
                    Issue(
                        "required",
                        "fhir.no_patient",
                        outcome.NO_PATIENT,
                        {"system": systems.IIN},
                        (f"Bundle.entry[{i}].resource.{SUBJECT_FIELD[rtype]}",),
                    ),
                )
            )
    if findings:
        raise Rejected(422, findings)
    if len(set(iins.values())) > 1:
        raise Rejected(
            422,
            [
                Finding(
                    i,
                    clinical_type(entries, i),
                    _id(entries[i]["resource"]),
                    Issue(
                        "business-rule",
                        "fhir.mixed_patients",
                        outcome.MIXED_PATIENTS,
                        {},
                        (f"Bundle.entry[{i}].resource.{SUBJECT_FIELD[clinical_type(entries, i)]}",),
                    ),
                )
                for i in iins
            ],
        )
    first = clinical[0][0]
    subject_expr = f"Bundle.entry[{first}].resource.{SUBJECT_FIELD[clinical_type(entries, first)]}"
    person = session.scalar(select(Person).where(Person.iin == next(iter(iins.values()))))
    if person is None:
        raise Rejected(
            422,
            [
                Finding(
                    first,
                    clinical_type(entries, first),
                    "",
                    Issue("not-found", "fhir.unknown_patient", outcome.UNKNOWN_PATIENT, {}, (subject_expr,)),
                )
            ],
        )
    book = session.scalar(select(MedicalBook).where(MedicalBook.person_id == person.id))
    if book is None or book.entity_id != actor.entity_id:  # another organization's book: as no book at all,
        raise Rejected(  # or the refusal would tell the MIS that this IIN has a book elsewhere (issue 14)
            422,
            [
                Finding(
                    first,
                    clinical_type(entries, first),
                    "",
                    Issue("business-rule", "medbook.book_not_found", outcome.NO_BOOK, {}, (subject_expr,)),
                )
            ],
        )
    # Every code mapped, every date present.
    cache: dict[str, Any] = {}
    items = []
    for i, resource in clinical:
        item = _map_item(session, i, resource, cache, findings)
        if item is not None:
            items.append(
                replace(item, full_url=str(entries[i].get("fullUrl", "")), body=canonical.resource_bytes(resource))
            )
    if findings:
        raise Rejected(422, findings)
    # The authoring clinician's signature over the clinical resources.
    signed_data = canonical.signed_bytes(entries)  # once: RFC 8785 of a bundle of 100 costs ~10 ms
    evidence, author = _check_signature(
        session, actor, entries, clinical, provenances, trust, signed_at or now, signed_data
    )
    # Write.
    received = bundle or InboundBundle(
        account_id=actor.account_id,
        entity_id=actor.entity_id,
        received_at=now,
        sha256=hashlib.sha256(body).hexdigest(),
        body=body,
        state="accepted",
        last_attempt_at=now,
    )
    received.state, received.accepted_at, received.last_attempt_at = "accepted", now, now
    received.signed_data = signed_data
    received.signature, received.signer = evidence
    session.add(received)
    session.flush()
    writer = replace(actor, display_name=f"{author} ({actor.display_name})"[:200])
    known = _received(session, source_of(received.account_id), items)
    results = _write_all(session, writer, book, received, items, known, now)
    session.flush()
    received.resources = sum(1 for r in results if r.created)
    record_event(
        session=session,
        actor=actor,
        action="fhir.ingest",
        object_type="fhir_bundle",
        object_id=str(received.id),
        subject_person_id=person.id,
        purpose=f"{received.resources} resources",
        now=now,
    )
    return Accepted(received.id, results, [i for i, _ in provenances])


def clinical_type(entries: Sequence[Mapping[str, Any]], i: int) -> str:
    return str(entries[i]["resource"]["resourceType"])


def _check_signature(
    session: Session,
    actor: Actor,
    entries: list[dict[str, Any]],
    clinical: list[tuple[int, Any]],
    provenances: list[tuple[int, Any]],
    trust: Trust,
    at: dt.datetime,
    signed_data: bytes,
) -> tuple[tuple[bytes, str], str]:
    """Return ((CMS, signer subject), author name) or raise Rejected (C-06: the author signs)."""
    signed = [(i, p) for i, p in provenances if (p.get("signature") or [{}])[0].get("data")]
    if not signed:
        where = f"Bundle.entry[{provenances[0][0]}].resource.signature" if provenances else "Bundle.entry"
        raise _bundle_issue(422, "security", "fhir.unsigned", outcome.UNSIGNED, where)
    i, prov = signed[0]
    path = f"Bundle.entry[{i}].resource"
    author_iin = _author_iin(prov)
    practitioner = session.scalar(select(Practitioner).where(Practitioner.iin == author_iin)) if author_iin else None
    if practitioner is None:
        raise Rejected(
            422,
            [
                Finding(
                    i,
                    "Provenance",
                    _id(prov),
                    Issue("security", "fhir.no_author", outcome.NO_AUTHOR, {"system": systems.IIN}, (f"{path}.agent",)),
                )
            ],
        )
    targets = {str(t.get("reference", "")) for t in prov.get("target") or []}
    uncovered = [
        j
        for j, r in clinical
        if str(entries[j].get("fullUrl", "")) not in targets and f"{r['resourceType']}/{r.get('id', '')}" not in targets
    ]
    if uncovered:
        raise Rejected(
            422,
            [
                Finding(
                    j,
                    clinical_type(entries, j),
                    _id(entries[j]["resource"]),
                    Issue("security", "fhir.not_targeted", outcome.NOT_TARGETED, {}, (f"{path}.target",)),
                )
                for j in uncovered
            ],
        )
    try:
        cms_der = base64.b64decode(prov["signature"][0]["data"], validate=True)
    except ValueError:
        raise Rejected(
            422,
            [
                Finding(
                    i,
                    "Provenance",
                    _id(prov),
                    Issue(
                        "security", "fhir.signature_not_base64", outcome.NOT_BASE64, {}, (f"{path}.signature[0].data",)
                    ),
                )
            ],
        ) from None
    entity_bin = session.scalar(select(Entity.bin).where(Entity.id == actor.entity_id)) if actor.entity_id else None
    try:
        evidence = check_provenance(
            data=signed_data, cms_der=cms_der, author_iin=author_iin or "", entity_bin=entity_bin, trust=trust, at=at
        )
    except SignatureRejected as exc:
        expression = (f"{path}.signature[0].data", f"{path}.agent") if exc.mismatch else (f"{path}.signature[0].data",)
        issue = Issue("security", exc.error.code, exc.error.template(), dict(exc.error.params), expression)
        raise Rejected(422, [Finding(i, "Provenance", _id(prov), issue)]) from None
    name = " ".join(p for p in (practitioner.surname, practitioner.given_name, practitioner.patronymic) if p)
    return (cms_der, evidence.signer_subject[:300]), name


def _received(session: Session, source: str, items: list[Item]) -> dict[tuple[str, str], list[InboundResource]]:
    """Return the versions already received of the bundle's resources, by (type, id), in one query."""
    known: dict[tuple[str, str], list[InboundResource]] = {}
    ids = {i.resource_id for i in items}
    for row in session.scalars(
        select(InboundResource).where(InboundResource.source == source, InboundResource.resource_id.in_(ids))
    ):
        known.setdefault((row.resource_type, row.resource_id), []).append(row)
    return known


def _write_all(
    session: Session,
    actor: Actor,
    book: MedicalBook,
    bundle: InboundBundle,
    items: list[Item],
    known: dict[tuple[str, str], list[InboundResource]],
    now: dt.datetime,
) -> list[ItemResult]:
    """Write the items in bundle order: new resources in batches through ``medbook_journal.record_many`` (one insert
    for the batch), a newer version as a correction of its entry (C-41), a version already received not again.

    A batch is written before a correction, and before a resource the batch already holds appears again (the
    same resource twice in one bundle: the second is a duplicate or a newer version of the first).
    """
    source = source_of(bundle.account_id)
    results: dict[int, ItemResult] = {}
    batch: list[tuple[Item, EntryIn]] = []

    def write_batch() -> None:
        if not batch:
            return
        try:
            entries = medbook_journal.record_many(
                session=session, actor=actor, book_id=book.id, entries=[data for _, data in batch], now=now
            )
        except medbook_journal.EntryRefused as exc:
            raise _refused(batch[exc.index][0], exc.error) from None
        except RegistryError as exc:  # about the book as a whole: reported at the batch's first resource
            raise _refused(batch[0][0], exc) from None
        for (item, _), entry in zip(batch, entries, strict=True):
            results[item.position] = _received_as(session, source, bundle, item, entry.id, known, now)
        batch.clear()

    for item in items:
        key = (item.resource_type, item.resource_id)
        if any((i.resource_type, i.resource_id) == key for i, _ in batch):
            write_batch()
        earlier = known.setdefault(key, [])
        same = next((r for r in earlier if r.version == item.version), None)
        if same is not None:
            results[item.position] = ItemResult(
                item.position, item.resource_type, item.resource_id, item.version, same.entry_id, False
            )
            continue
        latest = max(earlier, key=lambda r: (_version_order(r.version), r.id or 0)) if earlier else None
        path = f"Bundle.entry[{item.position}].resource"
        if latest is not None and _version_order(item.version) < _version_order(latest.version):
            write_batch()  # an earlier resource's refusal comes first, as when each was written in turn
            raise Rejected(
                409,
                [
                    Finding(
                        item.position,
                        item.resource_type,
                        item.resource_id,
                        Issue(
                            "conflict",
                            "fhir.stale_version",
                            outcome.STALE_VERSION,
                            {"version": item.version, "current": latest.version},
                            (f"{path}.meta.versionId",),
                        ),
                    )
                ],
            )
        fields = {
            "kind": ClinicalKind(item.kind),
            "item_code": item.item_code,
            "performed_on": item.facts.performed_on,
            "result": item.facts.result,
            "result_text": item.facts.result_text,
            "codes": list(item.facts.codes),
            "clinical_status": item.clinical_status,
        }
        try:
            if latest is None:
                batch.append((item, EntryIn(**fields)))
                continue
            write_batch()
            reason = f"MIS update: {item.resource_type}/{item.resource_id} version {item.version}"
            entry = medbook_journal.correct(
                session=session,
                actor=actor,
                entry_id=latest.entry_id,
                data=CorrectionIn(**fields, reason=reason),
                now=now,
            )
        except RegistryError as exc:
            raise _refused(item, exc) from None
        except ValidationError as exc:
            raise Rejected(
                422,
                [
                    Finding(
                        item.position,
                        item.resource_type,
                        item.resource_id,
                        Issue(
                            "invalid",
                            "fhir.invalid_resource",
                            outcome.INVALID_RESOURCE,
                            {"reason": str(exc.errors()[0].get("msg", ""))[:200]},
                            (path,),
                        ),
                    )
                ],
            ) from None
        results[item.position] = _received_as(session, source, bundle, item, entry.id, known, now)
    write_batch()
    return [results[item.position] for item in items]


def _refused(item: Item, exc: RegistryError) -> Rejected:
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


def _received_as(
    session: Session,
    source: str,
    bundle: InboundBundle,
    item: Item,
    entry_id: int,
    known: dict[tuple[str, str], list[InboundResource]],
    now: dt.datetime,
) -> ItemResult:
    """Note a resource version as received (the ledger of idempotency) and return its result."""
    row = InboundResource(
        source=source,
        resource_type=item.resource_type,
        resource_id=item.resource_id,
        version=item.version,
        bundle_id=bundle.id,
        entry_id=entry_id,
        received_at=now,
        content_sha256=hashlib.sha256(item.body).hexdigest() if item.body else "",
        body=item.body or None,
    )
    session.add(row)
    known.setdefault((item.resource_type, item.resource_id), []).append(row)
    return ItemResult(item.position, item.resource_type, item.resource_id, item.version, entry_id, True)
