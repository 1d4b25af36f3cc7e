"""OperationOutcome: every FHIR error names its problem with a stable code, kk/ru/en text and the location
(``expression``, FHIRPath) of each issue; ``FhirError`` carries the HTTP status and the issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse

from emhana.fhir import systems
from emhana.kernel.i18n import LANGUAGES, N_, translate

FHIR_JSON = "application/fhir+json"

# Issue messages (msgids of the catalogues); parameters are filled with str.format.
MALFORMED_JSON = N_("The body is not valid JSON: {reason}.")
NOT_A_BUNDLE = N_("Expected a Bundle of type transaction, got {found}.")
INVALID_RESOURCE = N_("The resource does not conform to FHIR R4: {reason}.")
UNSUPPORTED_TYPE = N_(
    "Resources of type {found} are not accepted here; send Observation, DiagnosticReport, Immunization or Condition."
)
UNKNOWN_CODE = N_("No mapping for the code {system}|{code}; the item is kept in the dead-letter queue.")
NO_CODE = N_("The resource has no coded concept to map.")
NO_PATIENT = N_("The subject must be a Patient identified by IIN ({system}).")
UNKNOWN_PATIENT = N_("No person with this IIN is registered.")
NO_BOOK = N_("The worker has no personal medical book.")
MIXED_PATIENTS = N_("A bundle carries the results of one worker only.")
UNSIGNED = N_("The bundle has no Provenance with the authoring clinician's signature.")
NOT_BASE64 = N_("The signature data is not base64.")
NO_AUTHOR = N_("The Provenance must name the authoring Practitioner by IIN ({system}).")
NOT_TARGETED = N_("The Provenance does not cover every clinical resource of the bundle.")
NO_DATE = N_("The resource has no date of examination.")
STALE_VERSION = N_("Version {version} is older than version {current} already received.")
DUPLICATE = N_("Already received (same source, id and version); nothing was written again.")
BAD_SEARCH = N_("The search parameter {name} is not valid: {reason}.")
UNSUPPORTED_SEARCH = N_("The search parameter {name} is not supported.")
IDENTIFIER_REQUIRED = N_("Patients are searched by identifier ({system}|IIN) only.")
NOT_FOUND = N_("Resource {type}/{id} is not known.")
TOO_LARGE = N_("The body is larger than {limit} bytes.")
BAD_PARAMETER = N_("The parameter {name} is not valid: {reason}.")
IGNORED_SEARCH = N_("The search parameter {name} is not supported and was ignored.")
NOT_ACCEPTABLE = N_("This server answers in FHIR JSON (application/fhir+json) only, not in {found}.")
UNSUPPORTED_MEDIA = N_("This server reads FHIR JSON (application/fhir+json) only, not {found}.")
BAD_CURSOR = N_("The hidden search criteria of this link have expired or are not valid; search again.")
VALID = N_("No issue found: the resource passes the checks that run before anything is written.")
NOT_VALIDATED = N_("Only transaction Bundles are validated here; {found} is not.")


@dataclass(frozen=True)
class Issue:
    """One problem: FHIR issue type, stable emhana code, message template, parameters and locations."""

    code: str
    emhana_code: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    expression: tuple[str, ...] = ()
    severity: str = "error"

    def english(self) -> str:
        """Return the message in English."""
        return translate("en", self.template, self.params)

    def to_fhir(self, lang: str) -> dict[str, Any]:
        """Return the issue as OperationOutcome.issue JSON in a language (English in ``diagnostics``)."""
        out: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "details": {
                "coding": [{"system": systems.ISSUE_CODE, "code": self.emhana_code}],
                "text": translate(lang, self.template, self.params),
            },
            "diagnostics": self.english(),
        }
        if self.expression:
            out["expression"] = list(self.expression)
        return out


class FhirError(Exception):
    """A FHIR request that fails with an HTTP status and the issues that explain it."""

    def __init__(self, status: int, *issues: Issue) -> None:
        self.status = status
        self.issues = list(issues)
        super().__init__("; ".join(i.english() for i in issues))


def outcome(issues: list[Issue], lang: str) -> dict[str, Any]:
    """Return an OperationOutcome resource."""
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir(lang) for i in issues]}


def outcome_from_texts(status: int, code: str, messages: dict[str, str], lang: str) -> dict[str, Any]:
    """Return an OperationOutcome for an emhana problem (auth, routing) already rendered in every language."""
    fhir_code = {
        401: "login",
        403: "forbidden",
        404: "not-found",
        405: "not-supported",
        409: "conflict",
        412: "conflict",
        422: "invalid",
        429: "throttled",
    }.get(status, "exception")
    text = messages.get(lang) or messages.get("en") or code
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": fhir_code,
                "details": {"coding": [{"system": systems.ISSUE_CODE, "code": code}], "text": text},
                "diagnostics": messages.get("en", text),
            }
        ],
    }


def prune(value: Any) -> Any:
    """Drop empty strings, lists and objects (FHIR JSON forbids them) from a resource, recursively."""
    if isinstance(value, dict):
        items = ((k, prune(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in ("", [], {}, None)}
    if isinstance(value, list):
        return [v for v in (prune(x) for x in value) if v not in ("", [], {}, None)]
    return value


def fhir_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Return a JSON response of media type application/fhir+json (empty elements pruned)."""
    return JSONResponse(prune(body), status_code=status, media_type=FHIR_JSON, headers=headers)


def error_response(exc: FhirError, lang: str) -> JSONResponse:
    """Render a FhirError as an OperationOutcome with its HTTP status."""
    return fhir_response(outcome(exc.issues, lang), exc.status)


def all_texts(issue: Issue) -> dict[str, str]:
    """Return an issue's message in every language."""
    return {lg: translate(lg, issue.template, issue.params) for lg in LANGUAGES}
