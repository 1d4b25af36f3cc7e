"""Inbound sync: an MIS posts a transaction Bundle of Observation, DiagnosticReport (X-ray), Immunization and
Condition resources for one worker; they become journal entries of the worker's medical book (C-12, C-13).

Order of checks, all before anything is written: JSON, Bundle of type transaction, accepted resource types,
FHIR R4 validation of every resource (fhir.resources), every entry's request (POST or PUT, ``inbound_checks``),
one worker identified by IIN with a book, each result's status (final, amended, corrected; completed; or
entered-in-error, a retraction) and value, every code mapped (the ``fhir_code_map`` table) to an item of the
catalogue, the authoring clinician (a registered practitioner) and signature (``signature``, over
``canonical.signed_bytes``). Then each resource is written through the medical-book service (its rules apply:
C-40 staff of the issuing organization, C-30 suspension and referral) unless its (source, type, id, version)
was already received; a newer version corrects the entry of the older one (C-41), entered-in-error retracts it
(``inbound_store``).

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
from emhana.audit.service import event_row, write_events
from emhana.facilities.models import Entity, Practitioner
from emhana.fhir import canonical, mapping, outcome, shapes, systems
from emhana.fhir.inbound_checks import (
    AUTHOR_NOT_REGISTERED,
    ITEM_NOT_IN_CATALOGUE,
    Finding,
    Rejected,
    check_requests,
    check_status,
    check_value,
    entered_in_error,
)
from emhana.fhir.inbound_store import (
    SUBJECT_FIELD,
    Item,
    ItemResult,
    content_key,
    received,
    source_of,
    version_of,
    write_all,
)
from emhana.fhir.models import CodeMap, InboundBundle
from emhana.fhir.outcome import Issue
from emhana.fhir.signature import SignatureRejected, Trust, check_provenance
from emhana.identity.models import Person
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import N_
from emhana.medbook import journal as medbook_journal
from emhana.medbook.models import MedicalBook
from emhana.medbook.schemas import ClinicalKind
from emhana.trust.chain import links as chain

__all__ = [  # what the doors, the dead-letter queue and the read-back use
    "SUBJECT_FIELD",
    "Accepted",
    "Finding",
    "Item",
    "ItemResult",
    "Rejected",
    "ingest",
    "parse",
    "source_of",
]

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
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Accepted:
    bundle_id: int
    results: list[ItemResult]
    provenance_positions: list[int]
    entries: int = 0  # the bundle's entries (the transaction-response has one each)


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
    findings = check_requests(entries)  # POST or PUT only (fhir.resources takes any method, or none)
    if findings:
        raise Rejected(400 if any(f.issue.code == "required" for f in findings) else 422, findings)
    try:
        _validate(doc, entries)
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


def _validate(doc: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Validate the Bundle with fhir.resources (FHIR R4); raise its ValidationError.

    The Bundle is validated without its entries' resources, and each resource by its own model, as the Bundle's
    model validates it (``resourceType`` picks the model), which spares the Bundle model's per-resource type
    lookup (about a third of the validation time of a bundle of 100). When anything is wrong the whole Bundle is
    validated again as one model, so the errors are exactly the Bundle model's, in its order.

    What ``shapes`` accepts (the common shapes, by rules at least as strict as the models') is valid by the
    models and is not validated by them again; everything else is (about 8 of 9 ms of a bundle of 100 spared)."""
    bundle = get_fhir_model_class("Bundle")
    try:
        if not shapes.accepts_envelope(doc):
            bundle.model_validate({**doc, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]})
        for entry in entries:
            resource = entry["resource"]
            if not shapes.accepts(resource):
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError as split:
        bundle.model_validate(doc)  # the Bundle model's own errors
        raise split from None  # (the same resources; never reached while both models agree)


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


def _author_iin(provenance: Mapping[str, Any]) -> tuple[str, int] | None:
    """Return the IIN of the Provenance's first agent named by IIN, and that agent's place, or None."""
    for k, agent in enumerate(provenance.get("agent") or []):
        ident = (agent.get("who") or {}).get("identifier") or {}
        if ident.get("system") == systems.IIN and isinstance(ident.get("value"), str):
            return str(ident["value"]), k
    return None


@dataclass(frozen=True)
class MapRow:
    """An active row of the code map (``CodeMap``), as the mapping reads it."""

    system: str
    code: str
    kind: str
    item_code: str


def _codes_for(session: Session, rtype: str) -> dict[tuple[str, str], MapRow]:
    return _codes_of(session, [rtype])[rtype]


def _codes_of(session: Session, rtypes: Sequence[str]) -> dict[str, dict[tuple[str, str], MapRow]]:
    """Return the active code map of each resource type, by (system, code), with one query for them all (rows,
    no ORM objects)."""
    out: dict[str, dict[tuple[str, str], MapRow]] = {t: {} for t in rtypes}
    c = CodeMap.__table__.c
    query = select(c.resource_type, c.system, c.code, c.kind, c.item_code).where(
        c.resource_type.in_(rtypes), c.active.is_(True)
    )
    for rtype, system, code, kind, item_code in session.execute(query):
        out[rtype][(system, code)] = MapRow(system, code, kind, item_code)
    return out


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
    if not _in_catalogue(i, resource, row, coded, findings):
        return None
    found = mapping.facts(resource, path)
    if found.performed_on is None:
        findings.append(Finding(i, rtype, rid, Issue("required", "fhir.no_date", outcome.NO_DATE, {}, (path,))))
        return None
    return Item(i, rtype, rid, "", "", row.kind, row.item_code, found)


def _in_catalogue(
    i: int, resource: Mapping[str, Any], row: MapRow, coded: list[mapping.Coded], findings: list[Finding]
) -> bool:
    """Tell whether the code map row names an item of the catalogue for its kind; else note a finding at the
    coding that chose the row (a mapping written before the code map refused unknown items, issue 17)."""
    try:
        medbook_journal.check_catalogue_item(row.kind, row.item_code)
    except RegistryError:
        where = next((c for c in coded if (row.system, row.code) in mapping.lookup_keys(c)), coded[0])
        issue = Issue(
            "code-invalid",
            "fhir.item_not_in_catalogue",
            ITEM_NOT_IN_CATALOGUE,
            {"system": row.system, "code": row.code, "item": row.item_code, "kind": row.kind},
            (where.expression,),
        )
        findings.append(Finding(i, str(resource["resourceType"]), _id(resource), issue))
        return False
    return True


def _map_condition(
    i: int, resource: Mapping[str, Any], row: MapRow | None, path: str, findings: list[Finding]
) -> Item | None:
    """Map a Condition to a diagnosis (C-12, C-30): refuted or entered-in-error is refused (it is no diagnosis),
    the clinical status is required, and an ICD-10 code the code map lacks still makes a diagnosis entry."""
    rid, before = _id(resource), len(findings)
    status = mapping.refuted(resource)  # refuted: entered-in-error is a retraction (inbound_store)
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
    if row is not None:
        _in_catalogue(i, resource, row, list(mapping.codings(resource, path)), findings)
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
    diagnosis = kind in (ClinicalKind.PAST_INFECTION.value, ClinicalKind.SPECIALIST_DIAGNOSIS.value)
    return Item(i, "Condition", rid, "", "", kind, item_code, found, clinical if diagnosis else None)


def _checked_item(
    session: Session, i: int, resource: Mapping[str, Any], cache: dict[str, Any], findings: list[Finding]
) -> Item | None:
    """Return a resource as an item to write: entered-in-error as a retraction (nothing to map), otherwise a
    result in its final form, with a value, mapped to an item of the catalogue; None after noting findings."""
    rtype, rid = str(resource["resourceType"]), _id(resource)
    if not rid:
        return _map_item(session, i, resource, cache, findings)  # it names the missing id
    if entered_in_error(resource):
        return Item(i, rtype, rid, "", "", "", "", mapping.Facts(None, None, "", ()), retract=True)
    problem = check_status(i, resource) or check_value(i, resource)
    if problem is not None:
        findings.append(problem)
        return None
    return _map_item(session, i, resource, cache, findings)


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
    # the worker and her book (one per person) in one query
    found = session.execute(
        select(Person, MedicalBook)
        .outerjoin(MedicalBook, MedicalBook.person_id == Person.id)
        .where(Person.iin == next(iter(iins.values())))
    ).first()
    person, book = (found[0], found[1]) if found is not None else (None, None)
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
    # Every code mapped, every date present (the code map of the bundle's types read at once).
    cache: dict[str, Any] = dict(_codes_of(session, sorted({str(r["resourceType"]) for _, r in clinical})))
    items = []
    for i, resource in clinical:
        item = _checked_item(session, i, resource, cache, findings)
        if item is not None:
            exact = canonical.resource_bytes(resource)  # once per resource: RFC 8785, ledger, content, signed bytes
            content = content_key(resource, exact)
            version, explicit = version_of(resource, content)
            items.append(
                replace(
                    item,
                    version=version,
                    explicit=explicit,
                    content=content,
                    full_url=str(entries[i].get("fullUrl", "")),
                    body=exact,
                )
            )
    if findings:
        raise Rejected(422, findings)
    # The authoring clinician's signature over the clinical resources (every one is an item: no findings).
    signed_data = canonical.signed_bytes_of([item.body for item in items])
    # the MIS's organization, held for the whole write: the journal's entries name it from the session's (weak)
    # identity map with no query of their own
    issuer = session.get(Entity, actor.entity_id) if actor.entity_id else None
    evidence, author = _check_signature(
        session, entries, clinical, provenances, trust, signed_at or now, signed_data, issuer
    )
    # Write.
    received_bundle = bundle or InboundBundle(
        account_id=actor.account_id,
        entity_id=actor.entity_id,
        received_at=now,
        sha256=hashlib.sha256(body).hexdigest(),
        body=body,
        state="accepted",
        last_attempt_at=now,
    )
    received_bundle.state, received_bundle.accepted_at, received_bundle.last_attempt_at = "accepted", now, now
    received_bundle.signed_data = signed_data
    received_bundle.signature, received_bundle.signer = evidence
    writer = replace(actor, display_name=f"{author} ({actor.display_name})"[:200])
    known = received(session, source_of(received_bundle.account_id), items)
    results = write_all(session, writer, book, received_bundle, items, known, now)  # a new bundle inserted there
    received_bundle.resources = sum(1 for r in results if r.created)  # (unchanged then: no UPDATE)
    session.flush()
    event = event_row(
        actor=actor,
        action="fhir.ingest",
        object_type="fhir_bundle",
        object_id=received_bundle.id,
        subject_person_id=person.id,
        purpose=f"{received_bundle.resources} resources",
        at=now,
    )
    written = write_events(session, [event])  # one Core insert; handed to the audit chain as written
    chain.note_new(session, "audit", [r["id"] for r in written], rows=written)
    return Accepted(received_bundle.id, results, [i for i, _ in provenances], len(entries))


def clinical_type(entries: Sequence[Mapping[str, Any]], i: int) -> str:
    return str(entries[i]["resource"]["resourceType"])


def _check_signature(
    session: Session,
    entries: list[dict[str, Any]],
    clinical: list[tuple[int, Any]],
    provenances: list[tuple[int, Any]],
    trust: Trust,
    at: dt.datetime,
    signed_data: bytes,
    issuer: Entity | None,
) -> tuple[tuple[bytes, str], str]:
    """Return ((CMS, signer subject), author name) or raise Rejected (C-06: the author signs)."""
    signed = [(i, p) for i, p in provenances if (p.get("signature") or [{}])[0].get("data")]
    if not signed:
        where = f"Bundle.entry[{provenances[0][0]}].resource.signature" if provenances else "Bundle.entry"
        raise _bundle_issue(422, "security", "fhir.unsigned", outcome.UNSIGNED, where)
    i, prov = signed[0]
    path = f"Bundle.entry[{i}].resource"
    named = _author_iin(prov)
    if named is None:  # no agent named by IIN
        issue = Issue("security", "fhir.no_author", outcome.NO_AUTHOR, {"system": systems.IIN}, (f"{path}.agent",))
        raise Rejected(422, [Finding(i, "Provenance", _id(prov), issue)])
    author_iin, k = named
    practitioner = session.scalar(select(Practitioner).where(Practitioner.iin == author_iin))
    if practitioner is None:  # named, but not in the Fund's database of practitioners
        where = f"{path}.agent[{k}].who.identifier"
        issue = Issue("security", "fhir.author_not_registered", AUTHOR_NOT_REGISTERED, {}, (where,))
        raise Rejected(422, [Finding(i, "Provenance", _id(prov), issue)])
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
    entity_bin = issuer.bin if issuer is not None else None
    try:
        evidence = check_provenance(
            data=signed_data, cms_der=cms_der, author_iin=author_iin, entity_bin=entity_bin, trust=trust, at=at
        )
    except SignatureRejected as exc:
        expression = (f"{path}.signature[0].data", f"{path}.agent") if exc.mismatch else (f"{path}.signature[0].data",)
        issue = Issue("security", exc.error.code, exc.error.template(), dict(exc.error.params), expression)
        raise Rejected(422, [Finding(i, "Provenance", _id(prov), issue)]) from None
    name = " ".join(p for p in (practitioner.surname, practitioner.given_name, practitioner.patronymic) if p)
    return (cms_der, evidence.signer_subject[:300]), name
