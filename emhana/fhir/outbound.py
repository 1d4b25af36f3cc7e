"""A worker's medical book as a FHIR document Bundle for another MIS, with its signatures.

The document: a Composition (sections by entry kind), the Patient, the issuing Organization, one resource
per current journal entry (Observation; Immunization for vaccinations; Condition for past infections and
diagnoses; DiagnosticReport for X-rays) and one Provenance per entry. An entry received from an MIS carries
the author's detached CMS (``signature.data``) and the exact signed bytes as a Binary (``entity.what``), so
the receiver can check it without us; an entry written at the desk carries the SHA-256 of its canonical
bytes and, once signed through the trust component (emhana.trust.signatures), that CMS and its signed bytes too.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities.models import Entity
from emhana.fhir import registry, resources, systems
from emhana.fhir.mapping import CONDITION_CLINICAL
from emhana.fhir.models import InboundBundle, InboundResource
from emhana.identity.models import Person
from emhana.medbook import views
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.rules import EntryKind
from emhana.medbook.service import current_entries
from emhana.trust.signatures.records import RecordKind, signable
from emhana.trust.signatures.service import signature_of

SECTION_TITLES = {k.value: k.value.replace("_", " ") for k in EntryKind}
RESULT_CODES = {"positive": "POS", "negative": "NEG", "normal": "N", "abnormal": "A"}


def _concept(e: JournalEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"text": e.item_code or e.kind}
    if e.item_code:
        out["coding"] = [{"system": systems.ITEM, "code": e.item_code}]
    return out


def _entry_resource(e: JournalEntry, patient_ref: dict[str, Any]) -> dict[str, Any]:
    rid = f"entry-{e.id}"
    ident = [{"system": systems.ENTRY, "value": str(e.id)}]
    when = e.performed_on.isoformat()
    if e.kind == EntryKind.VACCINATION:
        return {
            "resourceType": "Immunization",
            "id": rid,
            "identifier": ident,
            "status": "completed",
            "vaccineCode": _concept(e),
            "patient": patient_ref,
            "occurrenceDateTime": when,
        }
    if e.kind in (EntryKind.PAST_INFECTION, EntryKind.SPECIALIST_DIAGNOSIS):
        concept = _concept(e)
        icd = [{"system": systems.ICD10, "code": c} for c in e.codes.split(",") if c]
        if icd:
            concept["coding"] = concept.get("coding", []) + icd
        condition: dict[str, Any] = {
            "resourceType": "Condition",
            "id": rid,
            "identifier": ident,
            "code": concept,
            "subject": patient_ref,
            "onsetDateTime": when,
            "category": [{"coding": [{"system": systems.KIND, "code": e.kind}]}],
        }
        if e.clinical_status:  # active or resolved (C-30); entries recorded before issue 15 have none
            condition["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": e.clinical_status}]}
        return condition
    if e.kind == EntryKind.XRAY:
        out: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "id": rid,
            "identifier": ident,
            "status": "final",
            "code": _concept(e),
            "subject": patient_ref,
            "effectiveDateTime": when,
        }
        if e.result:
            out["conclusionCode"] = [{"coding": [{"system": systems.ITEM, "code": e.result}]}]
        if e.result_text:
            out["conclusion"] = e.result_text
        return out
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "identifier": ident,
        "status": "final",
        "category": [{"coding": [{"system": systems.KIND, "code": e.kind}]}],
        "code": _concept(e),
        "subject": patient_ref,
        "effectiveDateTime": when,
    }
    if e.result:
        obs["interpretation"] = [{"coding": [{"system": systems.INTERPRETATION, "code": RESULT_CODES[e.result]}]}]
    if e.clearance:
        obs["valueCodeableConcept"] = {"coding": [{"system": systems.CLEARANCE, "code": e.clearance}]}
        if e.valid_until:
            obs["effectivePeriod"] = {"start": when, "end": e.valid_until.isoformat()}
            del obs["effectiveDateTime"]
    elif e.result_text:
        obs["valueString"] = e.result_text
    return obs


@dataclass(frozen=True)
class Signed:
    """A signature to show: the CMS, who signed, and the Binary holding the exact bytes it covers."""

    cms: bytes
    signer: str
    binary: str


def _provenance(e: JournalEntry, target: str, signed: Signed | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": f"prov-{e.id}",
        "target": [{"reference": target}],
        "recorded": e.recorded_at.astimezone(dt.UTC).isoformat()
        if e.recorded_at.tzinfo
        else e.recorded_at.isoformat() + "Z",
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "author",
                        }
                    ]
                },
                "who": {"display": e.author_name},
            },
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "custodian",
                        }
                    ]
                },
                "who": resources.reference("Organization", e.entity_id),
            },
        ],
        "extension": [
            {
                "url": f"{systems.BASE}/StructureDefinition/canonical-sha256",
                "valueString": hashlib.sha256(e.canonical).hexdigest(),
            },
            {
                "url": f"{systems.BASE}/StructureDefinition/signature-state",
                "valueCode": "signed" if signed is not None else e.signature_state,
            },
        ],
    }
    if signed is not None:
        out["signature"] = [
            {
                "type": [{"system": systems.SIGNATURE_TYPE, "code": systems.AUTHOR_SIGNATURE}],
                "when": out["recorded"],
                "who": {"display": signed.signer},
                "sigFormat": "application/pkcs7-signature",
                "targetFormat": "application/json",
                "data": base64.b64encode(signed.cms).decode(),
            }
        ]
        out["entity"] = [{"role": "source", "what": {"reference": signed.binary}}]
    return out


def _binary(rid: str, data: bytes) -> dict[str, Any]:
    return {
        "resourceType": "Binary",
        "id": rid,
        "contentType": "application/json",
        "data": base64.b64encode(data).decode(),
    }


def document(
    *, session: Session, actor: Actor, person_id: int, base: str, now: dt.datetime, purpose: str
) -> dict[str, Any]:
    """Return the worker's medical book as a document Bundle (logging the read); Forbidden otherwise."""
    person = session.get(Person, person_id)
    found = session.scalar(select(MedicalBook).where(MedicalBook.person_id == person_id)) if person else None
    book = views.authorize_document(actor, found)
    views.require_document_purpose(session=session, actor=actor, book=book, purpose=purpose, now=now)
    assert person is not None  # a book has its person
    record_event(
        session=session,
        actor=actor,
        action=views.FHIR_READ_ACTION,
        object_type="medical_book",
        object_id=str(book.id),
        subject_person_id=person.id,
        purpose=purpose[:200],
        now=now,
    )
    day = now.date()
    entity = session.get(Entity, book.entity_id)
    patient = (
        registry.read_patient(session=session, actor=actor, person_id=person_id, day=day, now=now, purpose=purpose)
        or {}
    )
    patient_ref = resources.reference("Patient", person.id)
    entries = current_entries(session=session, book_id=book.id)
    origin = (
        {
            r.entry_id: r.bundle_id
            for r in session.scalars(
                select(InboundResource).where(InboundResource.entry_id.in_([e.id for e in entries]))
            )
        }
        if entries
        else {}
    )
    bundles = (
        {b.id: b for b in session.scalars(select(InboundBundle).where(InboundBundle.id.in_(set(origin.values()))))}
        if origin
        else {}
    )
    items: list[dict[str, Any]] = []
    provenance: list[dict[str, Any]] = []
    binaries: list[dict[str, Any]] = []
    sections: dict[str, list[dict[str, str]]] = {}
    for e in entries:
        res = _entry_resource(e, patient_ref)
        ref = f"{res['resourceType']}/{res['id']}"
        items.append(res)
        sections.setdefault(e.kind, []).append({"reference": ref})
        signed = None
        inbound = bundles.get(origin[e.id]) if e.id in origin else None
        record = signature_of(session, RecordKind.MEDBOOK_ENTRY, e.id)
        if inbound is not None and inbound.signed_data is not None and inbound.signature is not None:
            # The MIS author's signature over the bundle's clinical resources, as received.
            rid = f"signed-bundle-{inbound.id}"
            if not any(b["id"] == rid for b in binaries):
                binaries.append(_binary(rid, inbound.signed_data))
            signed = Signed(inbound.signature, inbound.signer, f"Binary/{rid}")
        elif record is not None:
            # The author's signature through the trust component (NCALayer or demo PKCS#12).
            rid = f"signed-entry-{e.id}"
            binaries.append(_binary(rid, signable(session, RecordKind.MEDBOOK_ENTRY, e.id).canonical))
            signed = Signed(record.cms, record.signer_iin and f"IIN {record.signer_iin}" or "", f"Binary/{rid}")
        provenance.append(_provenance(e, ref, signed))
    org = resources.organization(entity, True) if entity else None
    composition = {
        "resourceType": "Composition",
        "id": f"medbook-{book.id}",
        "status": "final",
        "identifier": {"system": systems.BOOK, "value": str(book.id)},
        "type": {
            "coding": [{"system": "http://loinc.org", "code": "11503-0", "display": "Medical records"}],
            "text": "Personal medical book",
        },
        "subject": patient_ref,
        "date": now.astimezone(dt.UTC).isoformat(),
        "author": [resources.reference("Organization", book.entity_id)],
        "title": "Personal medical book",
        "language": book.language,
        "section": [
            {
                "title": SECTION_TITLES.get(kind, kind),
                "code": {"coding": [{"system": systems.KIND, "code": kind}]},
                "entry": refs,
            }
            for kind, refs in sections.items()
        ],
    }
    everything = [composition, patient] + ([org] if org else []) + items + provenance + binaries
    return {
        "resourceType": "Bundle",
        "type": "document",
        "timestamp": now.astimezone(dt.UTC).isoformat(),
        "identifier": {"system": systems.BOOK, "value": f"{book.id}-{now.strftime('%Y%m%dT%H%M%S')}"},
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in everything],
    }
