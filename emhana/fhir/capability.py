"""The CapabilityStatement of /fhir/R4: what can be read, searched and posted, and how."""

from __future__ import annotations

from typing import Any

from emhana import __version__
from emhana.accounts import smart
from emhana.fhir import bulk, ingested
from emhana.kernel import clock

FHIR_PATH = "/fhir/R4"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"

LAST_UPDATED = "when the latest version was recorded; prefixes eq, gt, ge, lt, le, sa, eb"
SEARCH: dict[str, list[tuple[str, str, str]]] = {
    "Patient": [
        ("identifier", "token", "IIN as https://fhir.emhana.kz/sid/iin|<IIN>; prefer POST _search"),
        ("_id", "token", ""),
    ],
    "Organization": [
        ("identifier", "token", "BIN as https://fhir.emhana.kz/sid/bin|<BIN>"),
        ("name", "string", "participating organizations by name"),
        ("_id", "token", ""),
        ("_lastUpdated", "date", LAST_UPDATED),
    ],
    "Location": [
        ("near", "special", "lat|lon|distance|km (participating sites, nearest first)"),
        ("organization", "reference", ""),
        ("_id", "token", ""),
        ("_lastUpdated", "date", LAST_UPDATED),
    ],
    "Practitioner": [
        ("identifier", "token", "IIN as https://fhir.emhana.kz/sid/iin|<IIN>"),
        ("_id", "token", ""),
        ("_lastUpdated", "date", LAST_UPDATED),
    ],
    "PractitionerRole": [
        ("practitioner", "reference", ""),
        ("organization", "reference", ""),
        ("_id", "token", ""),
        ("_lastUpdated", "date", LAST_UPDATED),
    ],
}
# The directory keeps its versions (vread, _history; docs/fhir-versions.md); all of it but Practitioner is public.
DIRECTORY = ("Organization", "Location", "Practitioner", "PractitionerRole")
PUBLIC_DIRECTORY = "Public: read and searched without a token, as the published list of participants; no IIN in it."
# Result parameters every search takes (api/fhir/search.py); unknown parameters: 400, or ignored with
# Prefer: handling=lenient.
RESULT_PARAMS: list[dict[str, Any]] = [
    {"name": "_count", "type": "number", "documentation": "page size, 0 to 100; 0: the total only, no next link"},
    {"name": "_summary", "type": "token", "documentation": "count (the total only), true, text, data or false"},
    {"name": "_total", "type": "token", "documentation": "none (no total), estimate or accurate (both exact)"},
]
VALIDATE: dict[str, Any] = {
    "type": "Bundle",
    "operation": [
        {
            "name": "validate",
            "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
            "documentation": "POST Bundle/$validate: a transaction Bundle checked (structure, types, accepted "
            "resources) without writing anything; an OperationOutcome of every finding",
        }
    ],
}


def security(base: str) -> dict[str, Any]:
    """Return rest.security: SMART on FHIR (Backend Services for system clients) with the token endpoint in the
    oauth-uris extension, as SMART App Launch 2 asks; people's bearer tokens still work for staff reads."""
    return {
        "extension": [
            {
                "url": OAUTH_URIS,
                "extension": [{"url": "token", "valueUri": smart.token_url(base.removesuffix(FHIR_PATH))}],
            }
        ],
        "cors": False,
        "service": [
            {
                "coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"}],
                "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
            }
        ],
        "description": "System clients (an MIS): SMART Backend Services, a client assertion (RFC 7523, RS384 or "
        "ES384) at the token endpoint for a five-minute token with system scopes (system/Observation.c, "
        "system/Patient.rs, ...; /.well-known/smart-configuration). Staff: the bearer token of their emhana "
        "account (/api/v1/auth/token).",
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
        if rtype in DIRECTORY:
            item["interaction"] += [{"code": "vread"}, {"code": "history-instance"}, {"code": "history-type"}]
            item.update(versioning="versioned", readHistory=True)
            if rtype != "Practitioner":
                item["documentation"] = PUBLIC_DIRECTORY
        if rtype == "Patient":
            item["operation"] = [
                {
                    "name": "medbook",
                    "definition": f"{base}/OperationDefinition/Patient-medbook",
                    "documentation": "The worker's personal medical book as a document Bundle",
                }
            ]
        resources.append(item)
    resources.extend(ingested.capability(rtype) for rtype in ingested.TYPES)  # posted, then read back (issue 17)
    resources.append({"type": "Provenance", "documentation": "Accepted inside a signed transaction Bundle only"})
    resources.append(bulk.capability_group())  # Group read and $export (docs/bulk-export.md)
    resources.append(VALIDATE)  # POST Bundle/$validate (api/fhir/validate.py)
    for entry in resources:  # the result parameters of every search
        if any(i.get("code") == "search-type" for i in entry.get("interaction", [])):
            entry["searchParam"] = [*entry.get("searchParam", []), *RESULT_PARAMS]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "instantiates": [bulk.INSTANTIATES],
        "date": clock.today().isoformat(),
        "publisher": "emhana",
        "software": {"name": "emhana", "version": __version__},
        "implementation": {"description": "emhana registry FHIR R4 door", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": security(base),
                "resource": resources,
                "operation": bulk.capability_operations(),
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
