"""The CapabilityStatement of /fhir/R4: what can be read, searched and posted, and how."""

from __future__ import annotations

from typing import Any

from emhana import __version__
from emhana.kernel import clock

SEARCH: dict[str, list[tuple[str, str, str]]] = {
    "Patient": [
        ("identifier", "token", "IIN as https://fhir.emhana.kz/sid/iin|<IIN>; prefer POST _search"),
        ("_id", "token", ""),
    ],
    "Organization": [
        ("identifier", "token", "BIN as https://fhir.emhana.kz/sid/bin|<BIN>"),
        ("name", "string", "participating organizations by name"),
        ("_id", "token", ""),
    ],
    "Location": [
        ("near", "special", "lat|lon|distance|km (participating sites, nearest first)"),
        ("organization", "reference", ""),
        ("_id", "token", ""),
    ],
    "Practitioner": [("identifier", "token", "IIN as https://fhir.emhana.kz/sid/iin|<IIN>"), ("_id", "token", "")],
    "PractitionerRole": [("practitioner", "reference", ""), ("organization", "reference", ""), ("_id", "token", "")],
}


def capability_statement(base: str) -> dict[str, Any]:
    """Return the server's CapabilityStatement (R4, JSON only)."""
    resources: list[dict[str, Any]] = []
    for rtype, params in SEARCH.items():
        item: dict[str, Any] = {
            "type": rtype,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": n, "type": t, **({"documentation": d} if d else {})} for n, t, d in params],
        }
        if rtype == "Patient":
            item["operation"] = [
                {
                    "name": "medbook",
                    "definition": f"{base}/OperationDefinition/Patient-medbook",
                    "documentation": "The worker's personal medical book as a document Bundle",
                }
            ]
        resources.append(item)
    for rtype in ("Observation", "DiagnosticReport", "Immunization", "Condition", "Provenance"):
        resources.append({"type": rtype, "documentation": "Accepted inside a signed transaction Bundle only"})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "date": clock.today().isoformat(),
        "publisher": "emhana",
        "software": {"name": "emhana", "version": __version__},
        "implementation": {"description": "emhana registry FHIR R4 door", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Bearer token of an emhana account (MIS client or staff role)."},
                "resource": resources,
                "interaction": [
                    {
                        "code": "transaction",
                        "documentation": "Observation, DiagnosticReport, Immunization and Condition of one "
                        "worker, signed by the author in a Provenance (detached CMS over "
                        "RFC 8785 JSON); all or nothing. A Condition is a diagnosis: ICD-10 code and "
                        "clinicalStatus required (active, recurrence, relapse: active and, when the Fund's "
                        "infection rules bar it, clearance is suspended; inactive, remission, resolved: "
                        "history); verificationStatus refuted or entered-in-error is refused",
                    }
                ],
            }
        ],
    }
