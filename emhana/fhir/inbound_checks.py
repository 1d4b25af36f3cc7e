"""Checks of an inbound transaction Bundle that need no database: what a refusal is (``Finding``, ``Rejected``),
the entries' requests (POST or PUT only), the statuses that are recorded, retracted or refused, and the value a
result must carry (issue 17). ``emhana.fhir.inbound`` runs them in order before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emhana.fhir import mapping
from emhana.fhir.outcome import Issue
from emhana.kernel.i18n import N_

REQUEST_REQUIRED = N_("Every entry of a transaction needs a request with its method (POST or PUT) and url.")
METHOD_NOT_ALLOWED = N_(
    "The method {method} is not accepted in a transaction here: results are created (POST) or updated (PUT); a "
    "result is withdrawn by sending it with the status entered-in-error."
)
POST_URL = N_("A POST entry's request.url must be the resource type {type}, got {url}.")
PUT_URL = N_("A PUT entry's request.url must be {expected} (the resource's type and id), got {url}.")
CONDITIONAL_CREATE = N_(
    "Conditional create (ifNoneExist) is not supported: the registry keeps each resource version once by its id "
    "and meta.versionId, so a resent entry writes nothing again."
)
STATUS_NOT_RECORDED = N_(
    "A {type} with status {status} is not recorded: only {recorded} results enter the book; send the status "
    "entered-in-error to withdraw one received before."
)
NO_VALUE = N_(
    "The {type} carries no result: an Observation needs a value (value[x]) or an interpretation, a "
    "DiagnosticReport a conclusion or a conclusion code."
)
UNKNOWN_RETRACTION = N_(
    "The {type} {id} is entered-in-error, but no resource with this id was received from this system for this "
    "worker: there is nothing to withdraw."
)
AUTHOR_NOT_REGISTERED = N_(
    "The author the Provenance names by IIN is not a registered practitioner: the Fund's database of practitioners "
    "must list them before the results they sign are accepted."
)
VERSION_CONFLICT = N_(
    "Version {version} of {type}/{id} was already received with other content; a changed resource needs a new "
    "meta.versionId."
)
RETRACTED = N_(
    "{type}/{id} was withdrawn as entered-in-error; it takes no new version: send the result as a new resource "
    "with a new id."
)
ITEM_NOT_IN_CATALOGUE = N_(
    "The code map sends {system}|{code} to the item {item} ({kind}), which the catalogue does not list for that "
    "kind; the Fund must correct the mapping."
)

ENTERED_IN_ERROR = "entered-in-error"
# Only results in their final form are recorded (FHIR R4 ObservationStatus, DiagnosticReportStatus,
# ImmunizationStatusCodes); a Condition's verification status is checked by the diagnosis rules (C-30).
RECORDED_STATUSES = {
    "Observation": ("final", "amended", "corrected"),
    "DiagnosticReport": ("final", "amended", "corrected"),
    "Immunization": ("completed",),
}
METHODS = ("POST", "PUT")


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


def resource_id(resource: Any) -> str:
    """Return a resource's id as the ledger keeps it (at most 64 characters), or an empty string."""
    return str(resource.get("id", ""))[:64] if isinstance(resource, Mapping) else ""


def finding(position: int, resource: Mapping[str, Any], issue: Issue) -> Finding:
    """Return a finding about the resource of an entry."""
    return Finding(position, str(resource.get("resourceType", "")), resource_id(resource), issue)


def check_requests(entries: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Return the problems of the entries' requests: each needs one, POST (url: the type) or PUT (url: Type/id),
    without ``ifNoneExist``; DELETE, GET, HEAD and PATCH are refused (a result is withdrawn by its status)."""
    found: list[Finding] = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        rtype = str(resource.get("resourceType", ""))
        request = entry.get("request")
        where = f"Bundle.entry[{i}].request"
        if not isinstance(request, Mapping) or not request.get("method"):
            expression = f"{where}.method" if isinstance(request, Mapping) else where
            found.append(
                finding(i, resource, Issue("required", "fhir.request_required", REQUEST_REQUIRED, {}, (expression,)))
            )
            continue
        method, url = str(request["method"]), str(request.get("url", "")).strip("/")
        if method not in METHODS:
            issue = Issue(
                "not-supported", "fhir.method_not_allowed", METHOD_NOT_ALLOWED, {"method": method}, (f"{where}.method",)
            )
            found.append(finding(i, resource, issue))
        elif method == "POST" and request.get("ifNoneExist"):
            issue = Issue("not-supported", "fhir.conditional_create", CONDITIONAL_CREATE, {}, (f"{where}.ifNoneExist",))
            found.append(finding(i, resource, issue))
        elif method == "POST" and url != rtype:
            issue = Issue(
                "invalid", "fhir.request_url", POST_URL, {"type": rtype, "url": url or "-"}, (f"{where}.url",)
            )
            found.append(finding(i, resource, issue))
        elif method == "PUT" and url != f"{rtype}/{resource.get('id', '')}":
            expected = f"{rtype}/{resource.get('id', '')}"
            issue = Issue(
                "invalid", "fhir.request_url", PUT_URL, {"expected": expected, "url": url or "-"}, (f"{where}.url",)
            )
            found.append(finding(i, resource, issue))
    return found


def status_path(resource: Mapping[str, Any]) -> str:
    """Return the element that carries a resource's status (a Condition's verification status)."""
    return "verificationStatus" if resource.get("resourceType") == "Condition" else "status"


def entered_in_error(resource: Mapping[str, Any]) -> bool:
    """Tell whether the MIS withdraws the resource: status (a Condition's verification status) entered-in-error."""
    if resource.get("resourceType") == "Condition":
        return mapping.refuted(resource) == ENTERED_IN_ERROR
    return resource.get("status") == ENTERED_IN_ERROR


def check_status(position: int, resource: Mapping[str, Any]) -> Finding | None:
    """Return the problem of a result's status: only final, amended or corrected results (completed vaccinations)
    are recorded; registered, preliminary, cancelled, not-done and unknown ones are not (entered-in-error is a
    retraction, handled apart)."""
    rtype = str(resource.get("resourceType", ""))
    recorded = RECORDED_STATUSES.get(rtype)
    status = str(resource.get("status", ""))
    if recorded is None or status in recorded:
        return None
    issue = Issue(
        "business-rule",
        "fhir.status_not_recorded",
        STATUS_NOT_RECORDED,
        {"type": rtype, "status": status or "-", "recorded": ", ".join(recorded)},
        (f"Bundle.entry[{position}].resource.status",),
    )
    return finding(position, resource, issue)


def check_value(position: int, resource: Mapping[str, Any]) -> Finding | None:
    """Return the problem of a result without a value (an Observation or a DiagnosticReport that says nothing)."""
    rtype = str(resource.get("resourceType", ""))
    if rtype not in ("Observation", "DiagnosticReport") or mapping.has_value(resource):
        return None
    element = "value" if rtype == "Observation" else "conclusion"
    issue = Issue(
        "required", "fhir.no_value", NO_VALUE, {"type": rtype}, (f"Bundle.entry[{position}].resource.{element}",)
    )
    return finding(position, resource, issue)


def unknown_retraction(position: int, resource: Mapping[str, Any]) -> Rejected:
    """Return the refusal of an entered-in-error resource that was never received."""
    rtype = str(resource.get("resourceType", ""))
    issue = Issue(
        "not-found",
        "fhir.unknown_retraction",
        UNKNOWN_RETRACTION,
        {"type": rtype, "id": resource_id(resource)},
        (f"Bundle.entry[{position}].resource.{status_path(resource)}",),
    )
    return Rejected(422, [finding(position, resource, issue)])
