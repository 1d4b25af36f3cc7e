"""Helpers of the attachment pages: labels of the campaign's codes in the page language, form
parsing, and the messages the pages show. No rule lives here; the pages call the services."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any

from emhana.attachment.enums import DocKind, PlaceBasis
from emhana.attachment.reports import AGE_BANDS
from emhana.attachment.rules import REFUSAL_REASONS
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import N_, translate

# Labels of the attachment codes (attachment.enums); the catalogues translate them.
CODE_LABELS: dict[str, dict[str, str]] = {
    "state": {
        "submitted": N_("Waiting for a decision"),
        "approved": N_("Approved"),
        "refused": N_("Refused"),
        "in_effect": N_("In effect"),
    },
    "channel": {
        "egov": N_("Portal"),
        "in_person": N_("In person"),
        "written": N_("In writing"),
    },
    "place_basis": {
        "residence_permanent": N_("Permanent residence"),
        "residence_temporary": N_("Temporary residence"),
        "study": N_("Place of study (18 and over)"),
        "work": N_("Place of work"),
        "actual_residence": N_("Actual residence (children under 5)"),
    },
    "cause": {
        "first_attachment": N_("First attachment"),
        "voluntary_change": N_("Voluntary change"),
        "relocation": N_("Change of residence"),
        "closure": N_("Closure of the organization"),
        "redistribution": N_("Redistribution"),
    },
    "change_reason": {
        "relocation": N_("Change of residence (relocation)"),
        "closure": N_("Closure, reorganization or loss of contract of the current organization"),
    },
    "end_reason": {
        "transfer": N_("Transferred to another organization"),
        "superseded": N_("Replaced before it took effect"),
        "death": N_("Death"),
        "emigration": N_("Emigration"),
        "insurance_ended": N_("Insurance contract ended"),
        "entity_excluded": N_("Organization excluded from the database"),
    },
    "sex": {
        "male": N_("Male"),
        "female": N_("Female"),
    },
    "address": {
        "permanent": N_("Permanent residence"),
        "temporary": N_("Temporary residence"),
        "study": N_("Place of study"),
        "work": N_("Place of work"),
        "actual": N_("Actual residence"),
    },
    "doc_kind": {
        "id_card": N_("ID card"),
        "passport": N_("Passport"),
        "birth_certificate": N_("Birth certificate"),
        "residence_permit": N_("Residence permit"),
        "pension_certificate": N_("Pension certificate"),
        "guardianship_decision": N_("Guardianship decision"),
        "insurance_contract": N_("Medical insurance contract"),
        "power_of_attorney": N_("Power of attorney"),
        "written_application": N_("Written application"),
        "other": N_("Other document"),
    },
}

# The document kinds the registrar's form offers; the rest of DocKind stays reachable through the API.
FORM_DOC_KINDS = tuple(k for k in CODE_LABELS["doc_kind"])
BASES = tuple(b.value for b in PlaceBasis)
SEXES = ("male", "female")
BANDS = tuple(b.label for b in AGE_BANDS)

MSG_STALE = N_(
    "Someone else has decided or changed this application meanwhile. Its current state is shown "
    "below; nothing was changed by your form."
)
MSG_DECIDED = N_("The application No. {number} is decided.")
MSG_PERSON_NOT_FOUND = N_("No person with this IIN is registered.")
MSG_IIN_FORMAT = N_("Enter an IIN of 12 digits.")
MSG_NO_POINT = N_("Choose one of your addresses or enter a point to search from.")
MSG_NOT_CITIZEN_LINKED = N_("Your account is not linked to a person in the registry.")
MSG_SCAN_REQUIRED = N_(
    "A written application needs at least one scanned document (PDF, JPEG, PNG or TIFF, up to 10 MB)."
)
MSG_REASON_REQUIRED = N_("Choose the reason of the refusal.")
MSG_NOT_REPRESENTATIVE = N_(
    "The registry holds no legal representation of this person by this applicant: record the representation "
    "with its basis document first, or the application will be refused."
)


MSG_OTHER_REASON = N_("Another reason")
PLACEHOLDER = re.compile(r"\{(\w+)")


@cache
def error_messages() -> dict[str, str]:
    """Return the message of every error by its code (the whole RegistryError tree)."""
    found: dict[str, str] = {}
    pending: list[type[RegistryError]] = [RegistryError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls.message)
        pending.extend(cls.__subclasses__())
    return found


class AttachmentLabels:
    """Language-bound labels of the campaign's codes for the templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def label(self, group: str, value: str | None) -> str:
        """Return the translated label of a code, or the code itself when it is unknown."""
        if value is None:
            return ""
        message = CODE_LABELS.get(group, {}).get(value)
        return translate(self.lang, message) if message else value

    def reason(self, code: str) -> str:
        """Return the title of a refusal reason without its parameters (for selects and charts): a ground of
        A-70/A-71, or the message of any other error an automatic refusal counted; never the code itself."""
        message = REFUSAL_REASONS.get(code) or error_messages().get(code) or MSG_OTHER_REASON
        return translate(self.lang, message, dict.fromkeys(PLACEHOLDER.findall(message), "…"))

    def person(self, person: Person | None) -> str:
        """Return a person's full name."""
        if person is None:
            return ""
        return " ".join(p for p in (person.surname, person.given_name, person.patronymic) if p)

    def time(self, moment: dt.datetime | None) -> str:
        """Format an instant in Kazakhstan's time as DD.MM.YYYY HH:MM."""
        if moment is None:
            return ""
        aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return aware.astimezone(KZ_TIME).strftime("%d.%m.%Y %H:%M")


def error_text(lang: str, exc: RegistryError) -> str:
    """Return an error's message in the page language with its parameters filled in."""
    return translate(lang, exc.template(), exc.params)


def parse_int(value: Any) -> int | None:
    """Return a positive id typed or posted in a form, or None."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 19 else None


def parse_date(value: Any) -> dt.date | None:
    """Return a date posted as YYYY-MM-DD, or None."""
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def choice(value: Any, allowed: tuple[str, ...]) -> str | None:
    """Return a posted value when it is one of the allowed codes, else None."""
    text = str(value or "").strip()
    return text if text in allowed else None


def doc_kind(value: Any) -> DocKind | None:
    """Return a posted document kind, or None."""
    text = choice(value, FORM_DOC_KINDS)
    return DocKind(text) if text else None
