"""The vocabulary of the attachment campaign: place bases, channels, states, causes and reasons."""

from __future__ import annotations

from enum import StrEnum

from emhana.kernel.i18n import N_


class PlaceBasis(StrEnum):
    """The address an attachment rests on (A-20, A-21, A-23)."""

    RESIDENCE_PERMANENT = "residence_permanent"
    RESIDENCE_TEMPORARY = "residence_temporary"
    STUDY = "study"
    WORK = "work"
    ACTUAL_RESIDENCE = "actual_residence"


# The identity.PersonAddress.kind that proves each basis.
BASIS_ADDRESS = {
    PlaceBasis.RESIDENCE_PERMANENT: "permanent",
    PlaceBasis.RESIDENCE_TEMPORARY: "temporary",
    PlaceBasis.STUDY: "study",
    PlaceBasis.WORK: "work",
    PlaceBasis.ACTUAL_RESIDENCE: "actual",
}


class Channel(StrEnum):
    """How an application arrives (A-50, A-51)."""

    EGOV = "egov"
    IN_PERSON = "in_person"
    WRITTEN = "written"


class State(StrEnum):
    """Application states: submitted -> approved | refused; approved -> in_effect."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REFUSED = "refused"
    IN_EFFECT = "in_effect"


class ChangeReason(StrEnum):
    """Valid reasons for a change outside the campaign (A-42)."""

    RELOCATION = "relocation"
    CLOSURE = "closure"  # closure, reorganization or loss of contract of the current organization


class Cause(StrEnum):
    """Why an attachment was opened."""

    FIRST_ATTACHMENT = "first_attachment"
    VOLUNTARY_CHANGE = "voluntary_change"  # counts against A-41
    RELOCATION = "relocation"
    CLOSURE = "closure"
    REDISTRIBUTION = "redistribution"


class EndReason(StrEnum):
    """Why an attachment ended (A-96: stored as a code)."""

    TRANSFER = "transfer"
    SUPERSEDED = "superseded"  # replaced before it took effect
    DEATH = "death"
    EMIGRATION = "emigration"
    INSURANCE_ENDED = "insurance_ended"
    ENTITY_EXCLUDED = "entity_excluded"


class Outcome(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"
    NEEDS_REGISTRAR = "needs_registrar"


class Review(StrEnum):
    """What a registrar must verify before an application can be approved."""

    WRITTEN = "written"  # the scanned documents of a written application
    BORDER = "border"  # the person lives in a border territory
    RELOCATION = "relocation"  # the move is real
    PREGNANCY = "pregnancy"  # A-23 (M): the declared pregnancy behind an actual-residence basis


REVIEW_MESSAGES = {
    Review.WRITTEN: N_("a written application: check the scanned documents"),
    Review.BORDER: N_("the border-territory exception: check that the person lives in a border territory"),
    Review.RELOCATION: N_("a change outside the campaign for relocation: check the new address"),
    Review.PREGNANCY: N_("attachment by actual residence for a declared pregnancy: check the pregnancy"),
}


class AtuLevel(StrEnum):
    """How far the administrative-territorial unit of A-20 reaches (D-23, L)."""

    DISTRICT = "district"
    OBLAST = "oblast"


class Holder(StrEnum):
    PERSON = "person"
    APPLICANT = "applicant"


class DocKind(StrEnum):
    """Documents of an application (A-60..A-66); identity documents share identity's kinds."""

    ID_CARD = "id_card"
    PASSPORT = "passport"
    BIRTH_CERTIFICATE = "birth_certificate"
    RESIDENCE_PERMIT = "residence_permit"
    STATELESS_CERTIFICATE = "stateless_certificate"
    KANDAS_CERTIFICATE = "kandas_certificate"
    REFUGEE_CERTIFICATE = "refugee_certificate"
    FOREIGN_PASSPORT = "foreign_passport"
    DIGITAL_DOCUMENT = "digital_document"
    PENSION_CERTIFICATE = "pension_certificate"
    MSE_EXTRACT = "mse_extract"
    GUARDIANSHIP_DECISION = "guardianship_decision"
    COMMISSION_MINUTES = "commission_minutes"
    INSURANCE_CONTRACT = "insurance_contract"
    POWER_OF_ATTORNEY = "power_of_attorney"
    WRITTEN_APPLICATION = "written_application"
    OTHER = "other"


# A-121 (L): the sex-age correction coefficients of the tariff rules (ДСМ-309/2020) need age bands, and no source
# for them was read. These are an UNVERIFIED DEFAULT until the Fund sets them (emhana/attachment/capitation.py:
# the ``bands`` of each snapshot, POST /api/v1/attachment/capitation/snapshots or ``emhana capitation snapshot
# --bands``); infants under 1 are a band of their own by default, apart from children of 1-4.
DEFAULT_BANDS = "0,1-4,5-14,15-17,18-39,40-64,65+"
