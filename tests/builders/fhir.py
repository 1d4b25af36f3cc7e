"""FHIR in tests: bundles as an MIS makes them (clinical resources, a Provenance, a detached CMS), a demo PKI and
its signers, a clinic that issues books, the FHIR world, what a bundle writes, and posting bundles to /fhir/R4."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, actor_of, create_account
from emhana.audit.models import AuditEvent
from emhana.facilities.service import apply_records, get_entity_by_bin
from emhana.fhir import systems
from emhana.fhir.canonical import signed_bytes
from emhana.fhir.codemap import seed_code_map
from emhana.fhir.mapping import CONDITION_CLINICAL, CONDITION_VERIFICATION
from emhana.fhir.models import DeadLetter, InboundBundle, InboundResource
from emhana.medbook.catalogue import seed_catalogue
from emhana.medbook.infections import seed_infection_rules
from emhana.medbook.models import JournalEntry, ResponsibleAppointment
from emhana.trust.keys import pki
from emhana.trust.signatures.cms import sign_detached
from tests.builders.facilities import entity_record
from tests.builders.medbook import World


@dataclass(frozen=True)
class Signer:
    iin: str
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Pki:
    root: pki.Issued
    intermediate: pki.Issued
    crl: x509.CertificateRevocationList


# CMS signing times are the real clock (OpenSSL's signingTime), so certificates start a day before now.
NOT_BEFORE = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)


def make_pki() -> Pki:
    root = pki.make_root(not_before=NOT_BEFORE, algorithm="ec")
    inter = pki.make_intermediate(root, not_before=NOT_BEFORE, algorithm="ec")
    crl = pki.make_crl(inter, [], this_update=NOT_BEFORE, next_update=NOT_BEFORE + dt.timedelta(days=3650), number=1)
    return Pki(root, inter, crl)


def make_signer(p: Pki, iin: str, bin_: str = "150340001236") -> Signer:
    issued = pki.make_clinician(
        p.intermediate,
        surname="Ахметова",
        given_name="Динара",
        iin=iin,
        organization="Поликлиника",
        bin_=bin_,
        not_before=NOT_BEFORE,
        algorithm="ec",
    )
    return Signer(iin, issued.key, issued.certificate, (p.intermediate.certificate,))


def subject(iin: str) -> dict[str, Any]:
    return {"identifier": {"system": systems.IIN, "value": iin}}


def observation(
    iin: str,
    *,
    code: str = "20507-0",
    system: str = systems.LOINC,
    interpretation: str = "NEG",
    on: str = "2026-03-02",
    rid: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid or uuid.uuid4().hex[:16],
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": subject(iin),
        "effectiveDateTime": on,
        "interpretation": [{"coding": [{"system": systems.INTERPRETATION, "code": interpretation}]}],
    }
    if version:
        res["meta"] = {"versionId": version}
    return res


def xray(
    iin: str,
    *,
    conclusion: str = "17621005",
    on: str = "2026-03-02",
    rid: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """A chest X-ray report; ``version`` sets meta.versionId (without one, the content stands for it, issue 17)."""
    res: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": rid or uuid.uuid4().hex[:16],
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": "36643-5"}]},
        "subject": subject(iin),
        "effectiveDateTime": on,
        "conclusion": "Без патологии",
        "conclusionCode": [{"coding": [{"system": systems.SNOMED, "code": conclusion}]}],
    }
    if version:
        res["meta"] = {"versionId": version}
    return res


def immunization(iin: str, *, cvx: str = "43", on: str = "2025-11-20") -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "id": uuid.uuid4().hex[:16],
        "status": "completed",
        "vaccineCode": {"coding": [{"system": systems.CVX, "code": cvx}]},
        "patient": subject(iin),
        "occurrenceDateTime": on,
    }


def condition(
    iin: str,
    *,
    icd: str = "A15.0",
    on: str = "2019-05-01",
    clinical: str | None = "resolved",
    verification: str | None = None,
    rid: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """A Condition (a past tuberculosis, resolved, by default); ``clinical`` None leaves out clinicalStatus."""
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": rid or uuid.uuid4().hex[:16],
        "code": {"coding": [{"system": systems.ICD10, "code": icd}]},
        "subject": subject(iin),
        "onsetDateTime": on,
    }
    if clinical is not None:
        res["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": clinical}]}
    if verification is not None:
        res["verificationStatus"] = {"coding": [{"system": CONDITION_VERIFICATION, "code": verification}]}
    if version:
        res["meta"] = {"versionId": version}
    return res


def bundle(
    resources: list[dict[str, Any]], *, signer: Signer | None, author_iin: str | None = None, tamper: bool = False
) -> dict[str, Any]:
    """Return a transaction Bundle; with a signer, a Provenance signed over the RFC 8785 clinical resources."""
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
        for r in resources
    ]
    if signer is not None:
        cms = sign_detached(signed_bytes(entries), signer.key, signer.cert, signer.chain)
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "request": {"method": "POST", "url": "Provenance"},
                "resource": {
                    "resourceType": "Provenance",
                    "recorded": "2026-03-02T10:00:00+05:00",
                    "target": [{"reference": e["fullUrl"]} for e in entries],
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
                            "who": {"identifier": {"system": systems.IIN, "value": author_iin or signer.iin}},
                        }
                    ],
                    "signature": [
                        {
                            "type": [{"system": systems.SIGNATURE_TYPE, "code": systems.AUTHOR_SIGNATURE}],
                            "when": "2026-03-02T10:00:00+05:00",
                            "who": {"identifier": {"system": systems.IIN, "value": signer.iin}},
                            "sigFormat": "application/pkcs7-signature",
                            "data": base64.b64encode(cms).decode(),
                        }
                    ],
                },
            }
        )
    if tamper:
        entries[0]["resource"]["effectiveDateTime"] = "2026-03-01"
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Clinic:
    """A clinic that issues books (C-04, C-05), with its MIS account, its responsible therapist and the Fund."""

    entity_id: int
    fund: Actor
    mis: Actor
    therapist_id: int


def seed_clinic(session: Session, *, mis_name: str = "MIS") -> Clinic:
    """Write the decreed groups, the code map, clinic A (BIN 150340001236) with its MIS account and an appointed
    responsible therapist; return who is who."""
    seed_catalogue(session)
    seed_infection_rules(session)
    seed_code_map(session)
    fund = actor_of(
        create_account(session=session, username="fund", password=None, role=Role.FUND_ADMIN, display_name="Fund")
    )
    apply_records(session=session, actor=fund, records=[entity_record()])
    entity = get_entity_by_bin(session=session, bin_="150340001236").id
    mis = actor_of(
        create_account(
            session=session,
            username="mis",
            password=None,
            role=Role.MIS_CLIENT,
            display_name=mis_name,
            entity_id=entity,
        )
    )
    rt = create_account(
        session=session,
        username="rt",
        password=None,
        role=Role.RESPONSIBLE_THERAPIST,
        display_name="RT",
        entity_id=entity,
    )
    session.add(
        ResponsibleAppointment(
            entity_id=entity, account_id=rt.id, valid_from=dt.date(2025, 1, 1), appointed_at=dt.datetime.now(dt.UTC)
        )
    )
    return Clinic(entity_id=entity, fund=fund, mis=mis, therapist_id=rt.id)


@dataclass
class FhirWorld:
    w: World
    book_id: int
    signer: Signer
    other: Signer
    pki: Pki


def written(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """Journal entries, ingested resources and accepted bundles: what a refused bundle must not change."""
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(JournalEntry)) or 0,
            s.scalar(select(func.count()).select_from(InboundResource)) or 0,
            s.scalar(select(func.count()).select_from(InboundBundle).where(InboundBundle.state == "accepted")) or 0,
        )


def open_letters(sessions: sessionmaker[Session]) -> list[DeadLetter]:
    """The dead letters not yet resolved, oldest first."""
    with sessions() as s:
        return list(s.scalars(select(DeadLetter).where(DeadLetter.resolved_at.is_(None)).order_by(DeadLetter.id)))


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    """The actions of the audit log, in order."""
    with sessions() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


FHIR_JSON = "application/fhir+json"


def post(client: TestClient, fw: FhirWorld, doc: dict[str, Any] | bytes, who: str = "mis_a") -> Any:
    """POST a bundle to /fhir/R4 as an account of the world (the MIS of clinic A by default)."""
    data = doc if isinstance(doc, bytes) else body(doc)
    return client.post("/fhir/R4", content=data, headers={**fw.w.h[who], "Content-Type": FHIR_JSON})


def issues(r: Any) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome response."""
    assert r.headers["content-type"].startswith(FHIR_JSON), r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"]  # type: ignore[no-any-return]


def codes(r: Any) -> list[str]:
    """The codes of an OperationOutcome's issues."""
    return [i["details"]["coding"][0]["code"] for i in issues(r)]
