"""A quick check of the shapes an MIS sends most (docs/fhir-inbound.md, "At speed"), so that ``fhir.resources``
validates only what this check does not know.

``accepts(resource)`` is True only when every element of the resource is one listed here, given as JSON of the
right kind, and every value passes a rule at least as strict as the one of ``fhir.resources``' R4B model for its
FHIR type: an ``id`` of 1-64 letters, digits, ``-`` and ``.``; a ``code`` of printable ASCII tokens with single
spaces; a ``uri`` of printable ASCII without spaces; a ``string`` without control characters, odd spaces or
lone surrogates; a ``date``, ``dateTime`` or ``instant`` in the full forms only, a real day and time, a zone
with a time; a ``decimal`` by the model's own pattern; lists not empty, no nulls, elements not empty, at most one
of each choice ``value[x]``, the elements the model requires present. Such a resource is valid by the model, so
the model's validation of it is skipped. Anything else (an element not listed, an extension, a null, a partial
date, another character) is validated by the model, whose errors are the refusal: this check never refuses, it
only spares the models' work (about 60 µs of a 70 µs validation per resource). ``tests/fhir/test_shapes.py``
holds the check to the models on generated resources.

``accepts_envelope(bundle)`` does the same for the Bundle without its entries' resources (``inbound._validate``
validates those one by one).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

MAX_STRING = 10_000  # longer strings go to the model (FHIR allows 1 MiB)
# Characters that send a string to the model: C0 and C1 controls but tab, LF and CR; every space but the plain
# one (the models' pattern knows some as whitespace, Unicode others); zero-width and direction marks; lone
# surrogates; non-characters. With these out, each character is a plain space, tab, LF, CR or one that is
# whitespace to no definition, as the models' string pattern ``[ \r\n\t\S]+`` needs.
_ODD = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    "\u3000\ud800-\udfff\ufeff\ufff0-\uffff]"
)
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_CODE = re.compile(r"[!-~]+(?: [!-~]+)*")
_URI = re.compile(r"[!-~]{1,4096}")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")  # fhir_core.types.Decimal's pattern
_DATE = re.compile(r"(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
# a dateTime with its time: seconds 00-59 (a leap second goes to the model), at most 6 decimals, a zone within
# -13:59..+14:00 as fhir_core's pattern allows
_MOMENT = re.compile(
    r"(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+\-](0[0-9]|1[0-3]):[0-5][0-9]|[+\-]14:00)"
)


def string(v: Any) -> bool:
    return type(v) is str and 0 < len(v) <= MAX_STRING and _ODD.search(v) is None


def code(v: Any) -> bool:
    return type(v) is str and len(v) <= 256 and _CODE.fullmatch(v) is not None


def ident(v: Any) -> bool:
    return type(v) is str and _ID.fullmatch(v) is not None


def uri(v: Any) -> bool:
    return type(v) is str and _URI.fullmatch(v) is not None


def boolean(v: Any) -> bool:
    return type(v) is bool


def decimal(v: Any) -> bool:
    return (type(v) is int or type(v) is float) and _DECIMAL.fullmatch(str(v)) is not None


def date(v: Any) -> bool:
    """A full date (YYYY-MM-DD), a real day."""
    if type(v) is not str or _DATE.fullmatch(v) is None:
        return False
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def instant(v: Any) -> bool:
    """A date and time with seconds and a zone, a real moment."""
    if type(v) is not str or _MOMENT.fullmatch(v) is None:
        return False
    try:
        dt.datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


def date_time(v: Any) -> bool:
    """A full date, or a date and time with seconds and a zone (a year or a month alone goes to the model)."""
    return date(v) if type(v) is str and len(v) == 10 else instant(v)


class ListOf:
    """A list of elements of one kind: not empty, no nulls."""

    __slots__ = ("item",)

    def __init__(self, item: Check) -> None:
        self.item = item

    def __call__(self, v: Any) -> bool:
        return type(v) is list and len(v) > 0 and all(self.item(x) for x in v)


class Element:
    """A complex element (or a resource, with ``resourceType`` in ``spec``): a JSON object of the listed
    elements only, not empty, the required ones present, at most one of each choice (``value[x]``)."""

    __slots__ = ("choices", "required", "spec")

    def __init__(
        self, spec: Mapping[str, Check], required: tuple[str, ...] = (), choices: tuple[tuple[str, ...], ...] = ()
    ) -> None:
        self.spec = dict(spec)
        self.required = required
        self.choices = choices

    def __call__(self, v: Any) -> bool:
        if type(v) is not dict or not v:
            return False
        spec = self.spec
        for key, value in v.items():
            check = spec.get(key)
            if check is None or not check(value):
                return False
        for name in self.required:
            if name not in v:
                return False
        for names in self.choices:
            if sum(1 for name in names if name in v) > 1:
                return False
        return True


class ResourceType:
    """The ``resourceType`` of a resource: its name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, v: Any) -> bool:
        return type(v) is str and v == self.name


CODING = Element({"system": uri, "version": string, "code": code, "display": string, "userSelected": boolean})
CONCEPT = Element({"coding": ListOf(CODING), "text": string})
CONCEPTS = ListOf(CONCEPT)
IDENTIFIER = Element({"use": code, "system": uri, "value": string})
REFERENCE = Element({"reference": string, "type": uri, "identifier": IDENTIFIER, "display": string})
REFERENCES = ListOf(REFERENCE)
QUANTITY = Element({"value": decimal, "comparator": code, "unit": string, "system": uri, "code": code})
PERIOD = Element({"start": date_time, "end": date_time})
ANNOTATION = Element({"text": string, "authorString": string, "time": date_time}, required=("text",))
META = Element({"versionId": ident, "lastUpdated": instant, "source": uri, "profile": ListOf(uri)})

_COMMON: dict[str, Check] = {"id": ident, "meta": META, "identifier": ListOf(IDENTIFIER)}

OBSERVATION = Element(
    {
        **_COMMON,
        "resourceType": ResourceType("Observation"),
        "status": code,
        "category": CONCEPTS,
        "code": CONCEPT,
        "subject": REFERENCE,
        "encounter": REFERENCE,
        "effectiveDateTime": date_time,
        "effectivePeriod": PERIOD,
        "effectiveInstant": instant,
        "issued": instant,
        "performer": REFERENCES,
        "valueQuantity": QUANTITY,
        "valueCodeableConcept": CONCEPT,
        "valueString": string,
        "valueBoolean": boolean,
        "dataAbsentReason": CONCEPT,
        "interpretation": CONCEPTS,
        "note": ListOf(ANNOTATION),
        "method": CONCEPT,
        "specimen": REFERENCE,
    },
    required=("resourceType", "status", "code"),
    choices=(
        ("effectiveDateTime", "effectivePeriod", "effectiveInstant"),
        ("valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean"),
    ),
)
DIAGNOSTIC_REPORT = Element(
    {
        **_COMMON,
        "resourceType": ResourceType("DiagnosticReport"),
        "status": code,
        "category": CONCEPTS,
        "code": CONCEPT,
        "subject": REFERENCE,
        "encounter": REFERENCE,
        "effectiveDateTime": date_time,
        "effectivePeriod": PERIOD,
        "issued": instant,
        "performer": REFERENCES,
        "resultsInterpreter": REFERENCES,
        "result": REFERENCES,
        "conclusion": string,
        "conclusionCode": CONCEPTS,
    },
    required=("resourceType", "status", "code"),
    choices=(("effectiveDateTime", "effectivePeriod"),),
)
IMMUNIZATION = Element(
    {
        **_COMMON,
        "resourceType": ResourceType("Immunization"),
        "status": code,
        "statusReason": CONCEPT,
        "vaccineCode": CONCEPT,
        "patient": REFERENCE,
        "encounter": REFERENCE,
        "occurrenceDateTime": date_time,
        "recorded": date_time,
        "primarySource": boolean,
        "lotNumber": string,
        "expirationDate": date,
        "site": CONCEPT,
        "route": CONCEPT,
        "doseQuantity": QUANTITY,
        "note": ListOf(ANNOTATION),
        "reasonCode": CONCEPTS,
    },
    # occurrence[x] is a required choice: the one listed here must be there
    required=("resourceType", "status", "vaccineCode", "patient", "occurrenceDateTime"),
)
CONDITION = Element(
    {
        **_COMMON,
        "resourceType": ResourceType("Condition"),
        "clinicalStatus": CONCEPT,
        "verificationStatus": CONCEPT,
        "category": CONCEPTS,
        "severity": CONCEPT,
        "code": CONCEPT,
        "bodySite": CONCEPTS,
        "subject": REFERENCE,
        "encounter": REFERENCE,
        "onsetDateTime": date_time,
        "onsetPeriod": PERIOD,
        "abatementDateTime": date_time,
        "recordedDate": date_time,
        "recorder": REFERENCE,
        "asserter": REFERENCE,
        "note": ListOf(ANNOTATION),
    },
    required=("resourceType", "subject"),
    choices=(("onsetDateTime", "onsetPeriod"),),
)
RESOURCES: dict[str, Check] = {
    "Observation": OBSERVATION,
    "DiagnosticReport": DIAGNOSTIC_REPORT,
    "Immunization": IMMUNIZATION,
    "Condition": CONDITION,
}

REQUEST = Element({"method": code, "url": uri, "ifMatch": string}, required=("method", "url"))
# an entry without its resource (validated on its own)
ENTRY = Element({"fullUrl": uri, "request": REQUEST})
ENVELOPE = Element(
    {
        "resourceType": ResourceType("Bundle"),
        "id": ident,
        "meta": META,
        "identifier": IDENTIFIER,
        "type": code,
        "timestamp": instant,
        "entry": ListOf(ENTRY),
    },
    required=("resourceType", "type"),
)


def accepts(resource: Any) -> bool:
    """Tell whether a resource is of a shape listed here, and so valid by its ``fhir.resources`` model."""
    check = RESOURCES.get(str(resource.get("resourceType"))) if type(resource) is dict else None
    return check is not None and check(resource)


def accepts_envelope(bundle: Any) -> bool:
    """Tell whether a Bundle, its entries' resources left out, is of a shape listed here (and so valid by the
    Bundle model)."""
    if type(bundle) is not dict or type(bundle.get("entry")) is not list:
        return False
    entries = bundle["entry"]
    if not all(type(e) is dict for e in entries):
        return False
    return ENVELOPE({**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]})
