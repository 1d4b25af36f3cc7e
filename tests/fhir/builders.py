"""Builders of FHIR test bundles as an MIS makes them: clinical resources, a Provenance, a detached CMS."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from emhana.fhir import systems
from emhana.fhir.canonical import signed_bytes
from emhana.signatures.cms import sign_detached
from emhana.trust import pki


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
    issued = pki.make_clinician(p.intermediate, surname="Ахметова", given_name="Динара", iin=iin,
                                organization="Поликлиника", bin_=bin_, not_before=NOT_BEFORE, algorithm="ec")
    return Signer(iin, issued.key, issued.certificate, (p.intermediate.certificate,))


def subject(iin: str) -> dict[str, Any]:
    return {"identifier": {"system": systems.IIN, "value": iin}}


def observation(iin: str, *, code: str = "20507-0", system: str = systems.LOINC, interpretation: str = "NEG",
                on: str = "2026-03-02", rid: str | None = None, version: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Observation", "id": rid or uuid.uuid4().hex[:16], "status": "final",
                           "code": {"coding": [{"system": system, "code": code}]}, "subject": subject(iin),
                           "effectiveDateTime": on,
                           "interpretation": [{"coding": [{"system": systems.INTERPRETATION,
                                                           "code": interpretation}]}]}
    if version:
        res["meta"] = {"versionId": version}
    return res


def xray(iin: str, *, conclusion: str = "17621005", on: str = "2026-03-02", rid: str | None = None) -> dict[str, Any]:
    return {"resourceType": "DiagnosticReport", "id": rid or uuid.uuid4().hex[:16], "status": "final",
            "code": {"coding": [{"system": systems.LOINC, "code": "36643-5"}]}, "subject": subject(iin),
            "effectiveDateTime": on, "conclusion": "Без патологии",
            "conclusionCode": [{"coding": [{"system": systems.SNOMED, "code": conclusion}]}]}


def immunization(iin: str, *, cvx: str = "43", on: str = "2025-11-20") -> dict[str, Any]:
    return {"resourceType": "Immunization", "id": uuid.uuid4().hex[:16], "status": "completed",
            "vaccineCode": {"coding": [{"system": systems.CVX, "code": cvx}]}, "patient": subject(iin),
            "occurrenceDateTime": on}


def condition(iin: str, *, icd: str = "A15.0", on: str = "2019-05-01") -> dict[str, Any]:
    return {"resourceType": "Condition", "id": uuid.uuid4().hex[:16], "code": {"coding": [{"system": systems.ICD10,
                                                                                           "code": icd}]},
            "subject": subject(iin), "onsetDateTime": on}


def bundle(resources: list[dict[str, Any]], *, signer: Signer | None, author_iin: str | None = None,
           tamper: bool = False) -> dict[str, Any]:
    """Return a transaction Bundle; with a signer, a Provenance signed over the RFC 8785 clinical resources."""
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r,
         "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]
    if signer is not None:
        cms = sign_detached(signed_bytes(entries), signer.key, signer.cert, signer.chain)
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "request": {"method": "POST", "url": "Provenance"},
                        "resource": {
                            "resourceType": "Provenance", "recorded": "2026-03-02T10:00:00+05:00",
                            "target": [{"reference": e["fullUrl"]} for e in entries],
                            "agent": [{"type": {"coding": [{
                                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                "code": "author"}]}, "who": {"identifier": {"system": systems.IIN,
                                                                            "value": author_iin or signer.iin}}}],
                            "signature": [{"type": [{"system": systems.SIGNATURE_TYPE,
                                                     "code": systems.AUTHOR_SIGNATURE}],
                                           "when": "2026-03-02T10:00:00+05:00",
                                           "who": {"identifier": {"system": systems.IIN, "value": signer.iin}},
                                           "sigFormat": "application/pkcs7-signature",
                                           "data": base64.b64encode(cms).decode()}]}})
    if tamper:
        entries[0]["resource"]["effectiveDateTime"] = "2026-03-01"
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()
