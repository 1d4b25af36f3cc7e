"""A worker's medical book as a FHIR document Bundle for another MIS, with its signatures.

The document: a Composition (sections by entry kind), the Patient, the issuing Organization, the authoring
Practitioners, one resource per current journal entry (Observation; Immunization for vaccinations; Condition for
past infections and diagnoses; DiagnosticReport for X-rays) and one Provenance per entry (and per retraction). An
entry received from an MIS carries the author's detached CMS (``signature.data``) and the exact signed bytes as a
Binary (``entity.what``), so the receiver can check it without us; an entry written at the desk carries the SHA-256
of its canonical bytes and, once signed through the trust component (emhana.trust.signatures), that CMS and its
signed bytes too. The Binary and the CMS are the stored bytes, never rebuilt.

Issue 17 (a document a generic FHIR viewer and a receiving MIS can use as it is):

- **Narrative**: the Composition, each section and each entry resource have a generated XHTML ``text`` in the
  book's language (emhana.fhir.narrative).
- **Original codings**: an entry received from an MIS shows the codings the MIS sent (LOINC, SNOMED CT, CVX,
  ICD-10 … from ``InboundResource.body``, the resource as received) beside the local item code (``medbook-item``)
  in ``code``/``vaccineCode``, a DiagnosticReport's received ``conclusionCode`` beside the local result, and an
  Observation's received coded value. A desk correction that keeps the item and kind of an MIS entry keeps the
  item's received codings (its result is the desk's, so no received result codes). All loaded in one query.
- **Corrections** (C-41): a correction is its own resource (one resource per journal entry, each entry
  immutable: ``meta.versionId`` 1, ``meta.lastUpdated`` its ``recorded_at``). An Observation or DiagnosticReport
  that corrects another says status ``corrected``; an Immunization or a Condition has no such status in R4 and
  keeps ``completed`` / its clinical status. Its Provenance says ``activity`` UPDATE (v3-DataOperation; CREATE
  for an original entry) and links the superseded entry with ``entity.role`` ``revision``. The superseded version
  is **not included**: the document states the book as it stands, and a replaced result beside its correction
  (an Observation could only say ``final`` or ``amended``) would be read as current by a receiver that ignores
  Provenance. It is referenced logically, by its type and journal-entry identifier (the identifier under which
  earlier documents sent it), since no server URL serves a superseded entry as ``entry-<n>``. A Provenance's
  ``meta.versionId`` is 2 once a desk entry has been signed after it was written (its content changed then;
  ``lastUpdated`` the signing time).
- **Author**: ``Provenance.agent.who`` (and the entry's performer / asserter) references the Practitioner whose
  IIN is the author's (the MIS bundle's Provenance author agent for an MIS entry; the author account's person
  for a desk entry, else the verified signer's IIN), with the IIN identifier and the display name; the
  Practitioners are included in the document. The document goes to an authorised MIS or clinician: the author's
  IIN is allowed here, as the patient's is.
- **Retractions** (``JournalEntry.retracted``, entered in error at the MIS): the retracted entry stays in its
  section as the version that was in force, its resource marked ``entered-in-error`` (``status``; a Condition's
  ``verificationStatus``, without a clinical status, con-5) as its second version (``lastUpdated`` the
  retraction's ``recorded_at``), so a receiver that stored it from an earlier document withdraws it; a second
  Provenance (the retraction's, ``activity`` NULLIFY, with its author and signature) targets it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities.models import Entity, Practitioner
from emhana.fhir import narrative, registry, resources, systems
from emhana.fhir.mapping import CODE_FIELD, CONDITION_CLINICAL, CONDITION_VERIFICATION, result_of
from emhana.fhir.models import InboundBundle, InboundResource
from emhana.identity.models import Person
from emhana.medbook import infections, views
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.rules import EntryKind
from emhana.medbook.service import SIGNED, current_entries, local_day
from emhana.trust.signatures.models import RecordSignature
from emhana.trust.signatures.records import RecordKind, signable

RESULT_CODES = {"positive": "POS", "negative": "NEG", "normal": "N", "abnormal": "A"}
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
RESOURCE_TYPES = {
    EntryKind.VACCINATION.value: "Immunization",
    EntryKind.PAST_INFECTION.value: "Condition",
    EntryKind.SPECIALIST_DIAGNOSIS.value: "Condition",
    EntryKind.XRAY.value: "DiagnosticReport",
}


def resource_type(kind: str) -> str:
    """Return the FHIR resource type an entry of a kind is sent as (Observation unless named)."""
    return RESOURCE_TYPES.get(kind, "Observation")


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat() if moment.tzinfo else moment.isoformat() + "Z"


@dataclass(frozen=True)
class Received:
    """What an MIS sent for an entry: the codings of its item, its result codes and coded value (own only)."""

    codings: tuple[Mapping[str, Any], ...] = ()
    conclusions: tuple[Mapping[str, Any], ...] = ()
    value: Mapping[str, Any] | None = None


def _received(body: bytes | None, own: bool) -> Received:
    """Read the codings of a resource as received (RFC 8785 JSON); the result's only for the entry's own."""
    try:
        resource = json.loads(body) if body else None
    except ValueError:
        resource = None
    if not isinstance(resource, Mapping):
        return Received()
    rtype = str(resource.get("resourceType", ""))
    concept = resource.get(CODE_FIELD.get(rtype, "code")) or {}
    codings = tuple(
        c
        for c in (concept.get("coding") or [] if isinstance(concept, Mapping) else [])
        if isinstance(c, Mapping) and c.get("system") and c.get("code") and c.get("system") != systems.ITEM
    )
    if not own:
        return Received(codings)
    conclusions = tuple(c for c in resource.get("conclusionCode") or [] if isinstance(c, Mapping))
    value = resource.get("valueCodeableConcept") if rtype == "Observation" else None
    return Received(codings, conclusions if rtype == "DiagnosticReport" else (), value or None)


def _merge(*codings: Any) -> list[dict[str, Any]]:
    """Return codings without repeats of a (system, code), in order."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for group in codings:
        for c in group:
            out.setdefault((str(c.get("system")), str(c.get("code"))), dict(c))
    return list(out.values())


def _concept(e: JournalEntry, received: Received, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    local = [{"system": systems.ITEM, "code": e.item_code}] if e.item_code else []
    out: dict[str, Any] = {"text": e.item_code or e.kind}
    coding = _merge(local, received.codings, extra or [])
    if coding:
        out["coding"] = coding
    return out


def _conclusions(e: JournalEntry, received: Received) -> list[dict[str, Any]]:
    """The local result beside the received concept that says the same; other received concepts as they came."""
    local: dict[str, Any] = {"coding": [{"system": systems.ITEM, "code": e.result}]} if e.result else {}
    others = []
    for concept in received.conclusions:
        said = result_of({"resourceType": "DiagnosticReport", "conclusionCode": [concept]})
        if local and said is not None and said.value == e.result:
            local = {**concept, "coding": _merge(local["coding"], concept.get("coding") or [])}
        else:
            others.append(dict(concept))
    return ([local] if local else []) + others


def entry_resource(
    e: JournalEntry,
    patient_ref: dict[str, Any],
    *,
    received: Received | None = None,
    author: dict[str, Any] | None = None,
    text: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the FHIR resource of one journal entry; the document adds what was received, the author's
    reference and the narrative (emhana.fhir.bulk exports entries without them)."""
    received = received or Received()
    base: dict[str, Any] = {
        "id": f"entry-{e.id}",
        "meta": {"versionId": "1", "lastUpdated": _instant(e.recorded_at)},
        **({"text": text} if text is not None else {}),
        "identifier": [{"system": systems.ENTRY, "value": str(e.id)}],
    }
    performer = [author] if author else []
    when = e.performed_on.isoformat()
    corrected = e.supersedes_id is not None
    if e.kind == EntryKind.VACCINATION:
        return {
            "resourceType": "Immunization",
            **base,
            "status": "completed",  # R4 has no amended status for an Immunization: the Provenance says UPDATE
            "vaccineCode": _concept(e, received),
            "patient": patient_ref,
            "occurrenceDateTime": when,
            **({"performer": [{"actor": author}]} if author else {}),
        }
    if e.kind in (EntryKind.PAST_INFECTION, EntryKind.SPECIALIST_DIAGNOSIS):
        icd = [{"system": systems.ICD10, "code": c} for c in e.codes.split(",") if c]
        condition: dict[str, Any] = {
            "resourceType": "Condition",
            **base,
            "code": _concept(e, received, icd),
            "subject": patient_ref,
            "onsetDateTime": when,
            "category": [{"coding": [{"system": systems.KIND, "code": e.kind}]}],
            **({"asserter": author} if author else {}),
        }
        if e.clinical_status:  # active or resolved (C-30); entries recorded before issue 15 have none
            condition["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": e.clinical_status}]}
        return condition
    if e.kind == EntryKind.XRAY:
        out: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            **base,
            "status": "corrected" if corrected else "final",
            "code": _concept(e, received),
            "subject": patient_ref,
            "effectiveDateTime": when,
            **({"performer": performer} if performer else {}),
        }
        conclusions = _conclusions(e, received)
        if conclusions:
            out["conclusionCode"] = conclusions
        if e.result_text:
            out["conclusion"] = e.result_text
        return out
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        **base,
        "status": "corrected" if corrected else "final",
        "category": [{"coding": [{"system": systems.KIND, "code": e.kind}]}],
        "code": _concept(e, received),
        "subject": patient_ref,
        "effectiveDateTime": when,
        **({"performer": performer} if performer else {}),
    }
    if e.result:
        obs["interpretation"] = [{"coding": [{"system": systems.INTERPRETATION, "code": RESULT_CODES[e.result]}]}]
    if e.clearance:
        obs["valueCodeableConcept"] = {"coding": [{"system": systems.CLEARANCE, "code": e.clearance}]}
        if e.valid_until:
            obs["effectivePeriod"] = {"start": when, "end": e.valid_until.isoformat()}
            del obs["effectiveDateTime"]
    elif received.value is not None:
        obs["valueCodeableConcept"] = dict(received.value)
    elif e.result_text:
        obs["valueString"] = e.result_text
    return obs


@dataclass(frozen=True)
class Signed:
    """A signature to show: the CMS, who signed, and the Binary holding the exact bytes it covers."""

    cms: bytes
    signer: dict[str, Any]
    binary: str
    signed_at: dt.datetime | None = None  # a desk entry's signing time (its Provenance's second version)


def _agent(code: str, who: dict[str, Any]) -> dict[str, Any]:
    return {"type": {"coding": [{"system": PARTICIPANT, "code": code}]}, "who": who}


def _provenance(
    e: JournalEntry,
    target: str,
    signed: Signed | None,
    author: dict[str, Any],
    revises: JournalEntry | None,
    activity: str | None = None,
) -> dict[str, Any]:
    recorded = _instant(e.recorded_at)
    resigned = signed is not None and signed.signed_at is not None
    out: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": f"prov-{e.id}",
        "meta": {
            "versionId": "2" if resigned else "1",
            "lastUpdated": _instant(signed.signed_at) if signed is not None and signed.signed_at else recorded,
        },
        "target": [{"reference": target}],
        "recorded": recorded,
        "activity": {
            "coding": [{"system": DATA_OPERATION, "code": activity or ("UPDATE" if revises is not None else "CREATE")}]
        },
        "agent": [_agent("author", author), _agent("custodian", resources.reference("Organization", e.entity_id))],
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
    entities: list[dict[str, Any]] = []
    if signed is not None:
        out["signature"] = [
            {
                "type": [{"system": systems.SIGNATURE_TYPE, "code": systems.AUTHOR_SIGNATURE}],
                "when": recorded,
                "who": signed.signer,
                "sigFormat": "application/pkcs7-signature",
                "targetFormat": "application/json",
                "data": base64.b64encode(signed.cms).decode(),
            }
        ]
        entities.append({"role": "source", "what": {"reference": signed.binary}})
    if revises is not None:  # C-41: what this correction replaces, by identifier (module docstring)
        entities.append(
            {
                "role": "revision",
                "what": {
                    "type": resource_type(revises.kind),
                    "identifier": {"system": systems.ENTRY, "value": str(revises.id)},
                    "display": f"entry-{revises.id}",
                },
            }
        )
    if entities:
        out["entity"] = entities
    return out


def _binary(rid: str, data: bytes) -> dict[str, Any]:
    return {
        "resourceType": "Binary",
        "id": rid,
        "contentType": "application/json",
        "data": base64.b64encode(data).decode(),
    }


def _bundle_author_iin(body: bytes) -> str | None:
    """Return the IIN of the author agent of a received bundle's signed Provenance (emhana.fhir.inbound checked
    it against the signer's certificate and the registered practitioners)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    for entry in doc.get("entry") or [] if isinstance(doc, Mapping) else []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Provenance":
            continue
        if not (resource.get("signature") or [{}])[0].get("data"):
            continue
        for agent in resource.get("agent") or []:
            ident = (agent.get("who") or {}).get("identifier") or {}
            if ident.get("system") == systems.IIN and isinstance(ident.get("value"), str):
                return str(ident["value"])
    return None


def _who(iin: str | None, practitioners: Mapping[str, Practitioner], display: str) -> dict[str, Any]:
    """A reference to the Practitioner with the IIN (with the IIN identifier and the display name)."""
    found = practitioners.get(iin) if iin else None
    out: dict[str, Any] = {}
    if found is not None:
        out["reference"] = f"Practitioner/{found.id}"
    if iin:
        out["type"] = "Practitioner"
        out["identifier"] = {"system": systems.IIN, "value": iin}
    if display:
        out["display"] = display
    return out


def withdrawn(history: Mapping[int, JournalEntry]) -> dict[int, JournalEntry]:
    """Return the entries retracted as entered in error, by id, each with its retraction: the version that was in
    force when the retraction came (a correction still awaiting its signature was not; its entry was)."""
    out: dict[int, JournalEntry] = {}
    for retraction in history.values():
        if not retraction.retracted or retraction.supersedes_id is None:
            continue
        shown = history.get(retraction.supersedes_id)
        while shown is not None and shown.supersedes_id is not None and shown.signature_state != SIGNED:
            shown = history.get(shown.supersedes_id)
        if shown is not None:
            out[shown.id] = retraction
    return out


def _withdraw(res: dict[str, Any], retraction: JournalEntry) -> None:
    """Mark an entry's resource entered-in-error (its second version: the retraction changed it)."""
    res["meta"] = {"versionId": "2", "lastUpdated": _instant(retraction.recorded_at)}
    if res["resourceType"] == "Condition":  # con-5: no clinical status on a Condition entered in error
        res.pop("clinicalStatus", None)
        res["verificationStatus"] = {"coding": [{"system": CONDITION_VERIFICATION, "code": "entered-in-error"}]}
    else:
        res["status"] = "entered-in-error"


@dataclass(frozen=True)
class Book:
    """Everything the document needs beyond the current entries, each loaded in one query for the whole book."""

    history: dict[int, JournalEntry]
    inbound: dict[int, InboundResource]
    bundles: dict[int, InboundBundle]
    signatures: dict[int, RecordSignature]
    authors: dict[int, str]  # entry id -> the author's IIN, where known
    practitioners: dict[str, Practitioner]
    referrals: dict[int, Entity]


def _load(session: Session, book: MedicalBook, history: dict[int, JournalEntry], entries: list[JournalEntry]) -> Book:
    ids = [e.id for e in entries]
    inbound: dict[int, InboundResource] = {}
    for row in session.scalars(
        select(InboundResource)
        .join(JournalEntry, JournalEntry.id == InboundResource.entry_id)
        .where(JournalEntry.book_id == book.id)
        .order_by(InboundResource.id)
    ):
        inbound[row.entry_id] = row  # the latest received version of each entry
    wanted = {inbound[i].bundle_id for i in ids if i in inbound}
    bundles = (
        {b.id: b for b in session.scalars(select(InboundBundle).where(InboundBundle.id.in_(wanted)))} if wanted else {}
    )
    signatures = (
        {
            s.record_id: s
            for s in session.scalars(
                select(RecordSignature).where(
                    RecordSignature.record_kind == RecordKind.MEDBOOK_ENTRY.value, RecordSignature.record_id.in_(ids)
                )
            )
        }
        if ids
        else {}
    )
    desk = {e.author_account_id for e in entries if e.id not in inbound and e.author_account_id is not None}
    people = (
        dict(
            session.execute(
                select(Account.id, Person.iin).join(Person, Person.id == Account.person_id).where(Account.id.in_(desk))
            ).all()
        )
        if desk
        else {}
    )
    authors: dict[int, str] = {}
    by_bundle = {b.id: _bundle_author_iin(b.body) for b in bundles.values()}
    for e in entries:
        if e.id in inbound:
            iin = by_bundle.get(inbound[e.id].bundle_id)
        else:
            iin = people.get(e.author_account_id) if e.author_account_id is not None else None
            iin = iin or (signatures[e.id].signer_iin if e.id in signatures else None)
        if iin:
            authors[e.id] = iin
    iins = set(authors.values()) | {s.signer_iin for s in signatures.values() if s.signer_iin}
    practitioners = (
        {p.iin: p for p in session.scalars(select(Practitioner).where(Practitioner.iin.in_(iins)))} if iins else {}
    )
    targets = {e.referral_entity_id for e in entries if e.referral_entity_id is not None}
    referrals = {x.id: x for x in session.scalars(select(Entity).where(Entity.id.in_(targets)))} if targets else {}
    return Book(history, inbound, bundles, signatures, authors, practitioners, referrals)


def _received_for(e: JournalEntry, book: Book) -> Received:
    """The entry's own received resource, else that of the MIS entry a desk correction kept the item of."""
    if e.id in book.inbound:
        return _received(book.inbound[e.id].body, own=True)
    step = e
    while step.supersedes_id is not None and step.supersedes_id in book.history:
        earlier = book.history[step.supersedes_id]
        if (earlier.kind, earlier.item_code) != (e.kind, e.item_code):
            break
        if earlier.id in book.inbound:
            return _received(book.inbound[earlier.id].body, own=False)
        step = earlier
    return Received()


def _line(lang: str, e: JournalEntry, book: Book, rules: list[Any], retraction: JournalEntry | None) -> narrative.Line:
    codes = [c for c in e.codes.split(",") if c]
    referral = book.referrals.get(e.referral_entity_id) if e.referral_entity_id is not None else None
    return narrative.line(
        lang,
        number=e.id,
        kind=e.kind,
        item_code=e.item_code,
        performed_on=e.performed_on,
        result=e.result,
        result_text=e.result_text,
        clearance=e.clearance,
        valid_until=e.valid_until,
        diagnosis_status=e.clinical_status,
        diagnoses=[infections.diagnosis_label(rules, c).in_language(lang) for c in codes] if e.clinical_status else [],
        referral_to=(referral.name_kk if lang == "kk" else referral.name_ru) if referral else None,
        supersedes=e.supersedes_id,
        reason=e.reason,
        author=e.author_name,
        retracted_by=retraction.id if retraction is not None else None,
        retraction_reason=retraction.reason if retraction is not None else None,
    )


def _id(e: JournalEntry) -> int:
    return e.id


def _signed(
    session: Session,
    e: JournalEntry,
    book: Book,
    author: dict[str, Any],
    binaries: dict[str, dict[str, Any]],
    cited: set[str],
) -> Signed | None:
    """Return an entry's signature, adding the Binary of the exact bytes it covers and naming who to include."""
    iin = book.authors.get(e.id)
    cited.add(iin or "")
    received = book.inbound.get(e.id)
    inbound = book.bundles.get(received.bundle_id) if received is not None else None
    if inbound is not None and inbound.signed_data is not None and inbound.signature is not None:
        # The MIS author's signature over the bundle's clinical resources, as received.
        rid = f"signed-bundle-{inbound.id}"
        binaries.setdefault(rid, _binary(rid, inbound.signed_data))
        signer = {**author, "display": inbound.signer} if iin else {"display": inbound.signer}
        return Signed(inbound.signature, signer, f"Binary/{rid}")
    record = book.signatures.get(e.id)
    if record is None:
        return None
    # The author's signature through the trust component (NCALayer or demo PKCS#12).
    rid = f"signed-entry-{e.id}"
    binaries[rid] = _binary(rid, signable(session, RecordKind.MEDBOOK_ENTRY, e.id).canonical)
    display = record.signer_iin and f"IIN {record.signer_iin}" or ""
    cited.add(record.signer_iin or "")
    signer = _who(record.signer_iin, book.practitioners, display) if record.signer_iin else author
    return Signed(record.cms, signer, f"Binary/{rid}", record.signed_at)


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
    lang = book.language
    entity = session.get(Entity, book.entity_id)
    patient = (
        registry.read_patient(session=session, actor=actor, person_id=person_id, day=day, now=now, purpose=purpose)
        or {}
    )
    patient_ref = resources.reference("Patient", person.id)
    history = {e.id: e for e in session.scalars(select(JournalEntry).where(JournalEntry.book_id == book.id))}
    retracted = withdrawn(history)
    entries = sorted(current_entries(session=session, book_id=book.id) + [history[i] for i in retracted], key=_id)
    loaded = _load(session, book, history, entries + list(retracted.values()))
    rules = infections.rules_on(session=session, day=local_day(now)) if any(e.clinical_status for e in entries) else []
    items: list[dict[str, Any]] = []
    provenance: list[dict[str, Any]] = []
    binaries: dict[str, dict[str, Any]] = {}
    sections: dict[str, list[tuple[str, narrative.Line]]] = {}
    cited: set[str] = set()  # the IINs of the authors and signers: their Practitioners go into the document
    for e in entries:
        iin = loaded.authors.get(e.id)
        author = _who(iin, loaded.practitioners, e.author_name)
        retraction = retracted.get(e.id)
        line = _line(lang, e, loaded, rules, retraction)
        res = entry_resource(
            e, patient_ref, received=_received_for(e, loaded), author=author, text=narrative.entry_text(lang, line)
        )
        if retraction is not None:
            _withdraw(res, retraction)
        ref = f"{res['resourceType']}/{res['id']}"
        items.append(res)
        sections.setdefault(e.kind, []).append((ref, line))
        revises = loaded.history.get(e.supersedes_id) if e.supersedes_id is not None else None
        provenance.append(_provenance(e, ref, _signed(session, e, loaded, author, binaries, cited), author, revises))
        if retraction is not None:  # who withdrew it, when, under which signature
            by = _who(loaded.authors.get(retraction.id), loaded.practitioners, retraction.author_name)
            signed = _signed(session, retraction, loaded, by, binaries, cited)
            provenance.append(_provenance(retraction, ref, signed, by, None, activity="NULLIFY"))
    org = resources.organization(entity, True) if entity else None
    owner = " ".join(p for p in (person.surname, person.given_name, person.patronymic) if p)
    composition = {
        "resourceType": "Composition",
        "id": f"medbook-{book.id}",
        "text": narrative.book_text(
            lang,
            number=book.id,
            owner=owner,
            organization=(entity.name_kk if lang == "kk" else entity.name_ru) if entity else "",
            issued_on=book.issued_on,
            sections=[(narrative.kind_title(lang, kind), len(lines)) for kind, lines in sections.items()],
        ),
        "status": "final",
        "identifier": {"system": systems.BOOK, "value": str(book.id)},
        "type": {
            "coding": [{"system": "http://loinc.org", "code": "11503-0", "display": "Medical records"}],
            "text": "Personal medical book",
        },
        "subject": patient_ref,
        "date": now.astimezone(dt.UTC).isoformat(),
        "author": [resources.reference("Organization", book.entity_id)],
        "title": narrative.title(lang, book.id),
        "language": lang,
        "section": [
            {
                "title": narrative.kind_title(lang, kind),
                "code": {"coding": [{"system": systems.KIND, "code": kind}]},
                "text": narrative.section_text(lang, kind, [line for _, line in lines]),
                "entry": [{"reference": ref} for ref, _ in lines],
            }
            for kind, lines in sections.items()
        ],
    }
    practitioners = sorted(
        (resources.practitioner(p) for iin, p in loaded.practitioners.items() if iin in cited),
        key=lambda r: int(r["id"]),
    )
    everything = (
        [composition, patient] + ([org] if org else []) + practitioners + items + provenance + list(binaries.values())
    )
    return {
        "resourceType": "Bundle",
        "type": "document",
        "timestamp": now.astimezone(dt.UTC).isoformat(),
        "identifier": {"system": systems.BOOK, "value": f"{book.id}-{now.strftime('%Y%m%dT%H%M%S')}"},
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in everything],
    }
