"""The attachment campaign's message texts and the notice's labels, as msgids translated in the kk/ru/en catalogues.

They are registered with emhana.notify.templates by emhana.attachment.notice (its ``__init__``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from emhana.attachment.enums import EndReason, PlaceBasis
from emhana.attachment.rules import REFUSAL_REASONS
from emhana.kernel.i18n import N_, translate


class Template(StrEnum):
    """What a message says; the key of its subject and body."""

    APPROVED = "attachment.approved"
    REFUSED = "attachment.refused"
    IN_EFFECT = "attachment.in_effect"
    DETACHED = "attachment.detached"
    REDISTRIBUTED = "attachment.redistributed"
    TRANSFER_OUT = "attachment.transfer_out"


# The templates whose message carries the attachment notice: the result of the service.
NOTICE_TEMPLATES = frozenset({Template.APPROVED, Template.REFUSED})

SUBJECTS = {
    Template.APPROVED: N_("Attachment approved"),
    Template.REFUSED: N_("Application refused"),
    Template.IN_EFFECT: N_("Attachment in effect"),
    Template.DETACHED: N_("Attachment ended"),
    Template.REDISTRIBUTED: N_("Attachment changed"),
    Template.TRANSFER_OUT: N_("A person leaves your organization"),
}

BODIES = {
    Template.APPROVED: N_(
        "Your application No. {number} is approved. You are attached from {begin} to: {entity}, "
        "{site} ({address}), district No. {district}."
    ),
    Template.REFUSED: N_("Your application No. {number} is refused: {reason}"),
    Template.IN_EFFECT: N_("Your attachment is in effect from {begin}: {entity}, {site}, district No. {district}."),
    Template.DETACHED: N_("Your attachment ends on {end} ({reason}): {entity}."),
    Template.REDISTRIBUTED: N_(
        "Your organization {old_entity} no longer serves its attached population. From "
        "{begin} you are attached to: {entity}, {site} ({address}), district No. {district}."
    ),
    Template.TRANSFER_OUT: N_(
        "A person attached to your organization moves to another organization from {begin}: "
        "{person}, born {birth_date}, IIN ending {iin_tail}."
    ),
}

END_REASONS = {
    EndReason.EMIGRATION: N_("departure for permanent residence abroad"),
    EndReason.INSURANCE_ENDED: N_("the medical insurance contract has ended"),
    EndReason.ENTITY_EXCLUDED: N_("the organization left the database of healthcare providers"),
}

BASES = {
    PlaceBasis.RESIDENCE_PERMANENT: N_("permanent residence"),
    PlaceBasis.RESIDENCE_TEMPORARY: N_("temporary residence"),
    PlaceBasis.STUDY: N_("place of study"),
    PlaceBasis.WORK: N_("place of work"),
    PlaceBasis.ACTUAL_RESIDENCE: N_("actual residence"),
}

TITLE_ATTACHMENT = N_("Notification of attachment to a primary health care organization")
TITLE_REFUSAL = N_("Reasoned refusal of attachment to a primary health care organization")
LABELS = {
    "number": N_("Document number"),
    "issued_at": N_("Issued at"),
    "entity": N_("Organization"),
    "address": N_("Site address"),
    "district": N_("District"),
    "doctor": N_("Doctor"),
    "person": N_("Full name"),
    "birth_date": N_("Date of birth"),
    "iin": N_("IIN"),
    "basis": N_("Place basis"),
    "begin": N_("Attached from"),
    "reason_code": N_("Refusal reason code"),
    "reason": N_("Reason"),
    "note": N_("Registrar's note"),
}
NOT_ASSIGNED = N_("not assigned")
SEAL_CAPTION = N_(
    "Seal of the organization: scan the QR code or paste its text at /verify of the registry to check "
    "that this notice was issued by the organization and has not been revoked."
)
SIGNATURE_PENDING = N_(
    "Electronic digital signature of the organization (NCA RK): pending. A demonstration "
    "signature of the registry is kept beside this document; it is not an electronic digital "
    "signature."
)

SIGNATURE_SIGNED = N_(
    "Electronic digital signature of the organization (NCA RK): signed on {day} with the certificate "
    "of BIN {bin}. The signature covers the notice as issued (SHA-256 of its PDF: {sha256}); this "
    "copy shows that it was signed."
)


def end_reason_text(language: str, code: str) -> str:
    """Return the reason an attachment ended in a language (the code itself when it has no text)."""
    try:
        return translate(language, END_REASONS[EndReason(code)])
    except (KeyError, ValueError):
        return code


def refusal_text(language: str, code: str, params: dict[str, Any]) -> str:
    """Return the reasoned text of a refusal code in a language (A-70, A-71)."""
    return translate(language, REFUSAL_REASONS.get(code, code), params)


def render(template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
    """Return the subject and body of an attachment message in a language (the renderer registered with notify)."""
    key = Template(template)
    values = dict(params)
    if key is Template.REFUSED:
        values["reason"] = refusal_text(
            language, str(params.get("reason_code", "")), dict(params.get("reason_params") or {})
        )
    elif key is Template.DETACHED:
        values["reason"] = end_reason_text(language, str(params.get("reason_code", "")))
    return translate(language, SUBJECTS[key]), translate(language, BODIES[key], values)
