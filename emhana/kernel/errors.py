"""The one exception tree of emhana, with stable codes rendered as RFC 9457 problem+json.

    RegistryError                       500 core.internal
    ├── InvalidInput                    422 (base for input problems)
    │   ├── InvalidIIN                  422 identity.invalid_iin
    │   ├── InvalidBIN                  422 identity.invalid_bin
    │   ├── InvalidEmployerNumber       422 medbook.invalid_employer (neither a BIN nor an entrepreneur's IIN)
    │   ├── InvalidName                 422 identity.invalid_name (control, invisible characters, digits)
    │   ├── PurposeRequired             422 identity.purpose_required (a read outside the organization's population)
    │   ├── UnknownKato                 422 reference.unknown_kato
    │   ├── AddressNotFound             422 reference.address_not_found (no KATO settlement in a typed address)
    │   ├── AddressAmbiguous            422 reference.address_ambiguous (several settlements: candidates in errors)
    │   ├── NoAddressOfKind             422 identity.no_address_of_kind (no current address of the asked kind)
    │   ├── NameRequired                422 facilities.name_required (a site's name in kk and ru)
    │   ├── CapacityInvalid             422 facilities.capacity_invalid (a district's capacity out of range)
    │   ├── DoctorNotAtEntity           422 facilities.doctor_not_at_entity (a district's doctor without a post)
    │   ├── OutsideKazakhstan           422 geo.outside_kazakhstan
    │   ├── InvalidDates                422 core.invalid_dates
    │   ├── CalendarNotCovered          422 attachment.calendar_not_covered (A-52: a day beyond the calendar data)
    │   ├── BodyTooLarge                413 core.body_too_large (refused before it is read: emhana/web/limits.py)
    │   ├── NestingTooDeep              400 core.too_deep (JSON nested deeper than EMHANA_MAX_JSON_DEPTH)
    │   └── ImportRejected              422 facilities.import_rejected (carries row errors)
    ├── NotFound                        404 core.not_found
    │   ├── BookNotFound                404 medbook.book_not_found
    │   ├── EntryNotFound               404 medbook.entry_not_found
    │   ├── EmploymentNotFound          404 medbook.employment_not_found (issue 15: a job of the book)
    │   ├── InfectionRuleNotFound       404 medbook.infection_rule_not_found
    │   └── GroupNotFound               404 medbook.group_not_found
    ├── Conflict                        409 core.conflict
    │   ├── DuplicateIIN                409 identity.duplicate_iin
    │   ├── DuplicateBIN                409 facilities.duplicate_bin
    │   ├── DistrictNumberTaken         409 facilities.district_number_taken
    │   ├── IdempotencyMismatch         422 core.idempotency_mismatch
    │   ├── IdempotencyInProgress       409 core.idempotency_in_progress (the first request with the key still runs)
    │   ├── VersionConflict             412 core.version_conflict (If-Match differs from the ETag)
    │   ├── PreconditionRequired        428 core.precondition_required (If-Match missing)
    │   ├── ApplicationPending          409 attachment.application_pending
    │   ├── AlreadyDecided              409 attachment.already_decided
    │   ├── PolicyExists                409 attachment.policy_exists
    │   ├── PolicyLocked                409 attachment.policy_locked
    │   ├── NotAttached                 409 attachment.not_attached
    │   ├── EntityStillParticipating    409 attachment.entity_still_participating
    │   ├── SnapshotExists              409 attachment.snapshot_exists
    │   ├── BookExists                  409 medbook.book_exists (one book per person, C-03)
    │   └── EntrySuperseded             409 medbook.entry_superseded (C-41: correct the current version)
    ├── RateLimited                     429 core.rate_limited (emhana/web/ratelimit.py)
    ├── AuthError
    │   ├── NotAuthenticated            401 auth.not_authenticated
    │   ├── BadCredentials              401 auth.bad_credentials
    │   ├── PasswordChangeRequired      403 auth.password_change_required (a one-time password was used)
    │   └── Forbidden                   403 auth.forbidden
    │       ├── NotPersonsOrganization  403 identity.not_persons_organization (representation: the person's
    │       │                               organization or the Fund)
    │       ├── NotIssuingStaff         403 medbook.not_staff (C-40: staff of the issuing organization only)
    │       ├── NotResponsibleTherapist 403 medbook.not_responsible_therapist (C-05, C-20)
    │       ├── NoEmployerLink          403 medbook.no_employer_link
    │       └── RoleNotAllowed          403 accounts.role_not_allowed (a role outside what the actor appoints)
    ├── UsernameTaken, AccountInvalid, WeakPassword, AccountNotFound, AccountUnchangeable
    │                                   409/422/422/404/409 accounts.* (account administration)
    ├── RuleViolation                   422 (base for business-rule refusals)
    │   ├── BasisNotFitting             422 identity.basis_not_fitting (A-24, A-63, A-65, A-67)
    │   ├── PersonDead                  422 attachment.person_dead (A-92)
    │   ├── RepresentativeRequired      422 attachment.representative_required (A-24, A-65)
    │   ├── DocumentRequired            422 attachment.document_required (A-60, A-65)
    │   ├── DocumentExpired             422 attachment.document_expired (A-60)
    │   ├── InsuranceRequired           422 attachment.insurance_required (A-14, A-66)
    │   ├── EntityNotParticipating      422 attachment.entity_not_participating (A-04, B-06)
    │   ├── AlreadyAttached             422 attachment.already_attached (A-01)
    │   ├── CampaignClosed              422 attachment.campaign_closed (A-31, A-32, A-42)
    │   ├── ReasonNotValid              422 attachment.reason_not_valid (A-42)
    │   ├── BasisNotAllowed             422 attachment.basis_not_allowed (A-21, A-23, A-24)
    │   ├── AddressMissing              422 attachment.address_missing (A-20)
    │   ├── AtuMismatch                 422 attachment.atu_mismatch (A-20, A-22)
    │   ├── ProfileMismatch             422 attachment.profile_mismatch (A-81)
    │   ├── ChangeLimit                 422 attachment.change_limit (A-41)
    │   ├── CapacityExceeded            422 attachment.capacity_exceeded (A-80, A-71)
    │   ├── ContractEndsBeforeEffect    422 attachment.contract_ends_before_effect (A-05, B-06)
    │   └── MedbookRule                 422 medbook.rule (base for medical-book refusals, docs/domain.md §3)
    │       ├── IssuerNotEligible       422 medbook.issuer_not_eligible (C-04)
    │       ├── ExaminerNotEligible     422 medbook.examiner_not_eligible (C-04: licence and СУР to examine)
    │       ├── InvalidJobDates         422 medbook.invalid_job_dates (a job ending before it began)
    │       ├── AppointeeNotEligible    422 medbook.appointee_not_eligible (C-05)
    │       ├── ClearanceIncomplete     422 medbook.clearance_incomplete (C-20, C-21)
    │       ├── Contraindication        422 medbook.contraindication (C-20, C-30)
    │       ├── CorrectionReasonRequired 422 medbook.correction_reason_required (C-41)
    │       ├── NotCorrectable          422 medbook.not_correctable (C-41)
    │       ├── DateInFuture            422 medbook.date_in_future (C-13)
    │       ├── ItemKindMismatch        422 medbook.item_kind_mismatch (C-13: an item recorded under another kind)
    │       ├── InvalidRequirement      422 medbook.invalid_requirement (C-22: a decreed group's item is inconsistent)
    │       ├── DiagnosisCodeInvalid    422 medbook.invalid_diagnosis_code (C-12: a malformed or unknown ICD-10 code)
    │       ├── DiagnosisIncomplete     422 medbook.diagnosis_incomplete (C-12: a diagnosis without code or status)
    │       ├── ClinicalStatusNotAllowed 422 medbook.clinical_status_not_allowed (only diagnoses have one)
    │       ├── DiagnosisBarsWork       422 medbook.diagnosis_bars_work (C-30: no clearance while it is active)
    │       └── InfectionRuleInvalid    422 medbook.invalid_infection_rule (C-30: the Fund's list of infections)
    └── TrustError                      422 trust.error (base for seals, signatures and lists)
        ├── SealMalformed               422 trust.malformed (a seal text that cannot be decoded, §6.6 step 1)
        ├── TrustListInvalid            422 trust.list_invalid (bad signature, type or content of a list)
        ├── TrustListRollback           409 trust.list_rollback (a list not newer than the one in use)
        ├── CertificateInvalid          422 trust.certificate_invalid (a certificate, key or PKCS#12 file)
        ├── SealRefused                 422 trust.seal_refused (claims that break docs/credentials.md §6.3)
        ├── SealUnknown                 404 trust.seal_unknown (a seal this service did not issue)
        ├── UploadInvalid               422 trust.upload_invalid (not a PNG/JPEG/WebP picture)
        ├── UploadTooLarge              413 trust.upload_too_large
        ├── NoQrCode                    422 trust.no_qr_code (a picture without a readable QR code)
        ├── PictureTooLarge             413 trust.picture_too_large (more pixels than a QR photo needs)
        ├── VerifierBusy                503 trust.verifier_busy (every picture decoder is busy)
        └── SignatureError              422 signature.error (record signatures, CMS; emhana.trust.signatures)
            ├── SignatureMalformed      422 signature.malformed (not a detached CMS SignedData we can read)
            ├── DigestMismatch          422 signature.digest_mismatch (the CMS signs other bytes)
            ├── BadSignature            422 signature.bad_signature (signature over the signed attributes fails)
            ├── UntrustedChain          422 signature.untrusted_chain (no valid path to a configured anchor)
            ├── CertificateExpired      422 signature.expired (certificate not valid at the signing time)
            ├── CertificateRevoked      422 signature.revoked (on a cached CRL)
            ├── RevocationUnknown       422 signature.revocation_unknown (no current cached CRL)
            ├── KeyUsageRefused         422 signature.key_usage (not a SIGN key: digitalSignature/nonRepudiation)
            ├── WrongSigner             422 signature.wrong_signer (IIN not the author's or BIN not the organization's)
            ├── UnsupportedAlgorithm    422 signature.unsupported_algorithm
            ├── AlreadySigned           409 signature.already_signed (another signature is already stored)
            └── VerifierUnavailable     503 signature.verifier_unavailable (NCANode down, timed out or broken)

Each class has a stable machine ``code``, an HTTP ``status`` and an English message template that
is the msgid of the kk/ru/en catalogues (``emhana/kernel/i18n``); ``params`` fill the template.
"""

from __future__ import annotations

from typing import Any, ClassVar

from emhana.kernel.i18n import N_


class RegistryError(Exception):
    """Base of every error emhana reports to a user."""

    code: ClassVar[str] = "core.internal"
    status: ClassVar[int] = 500
    message: ClassVar[str] = N_("An internal error occurred. Nothing was changed.")

    def __init__(
        self, message: str | None = None, /, *, errors: list[dict[str, Any]] | None = None, **params: Any
    ) -> None:
        self.params = params
        self.errors = errors or []
        if message is not None:
            self.message_override: str | None = message
        else:
            self.message_override = None
        super().__init__(self.english())

    def template(self) -> str:
        """Return the English message template (the catalogue msgid)."""
        return self.message_override or self.message

    def english(self) -> str:
        """Return the message in English with its parameters filled in."""
        return _fill(self.template(), self.params)


def _fill(template: str, params: dict[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


class InvalidInput(RegistryError):
    code = "core.invalid_input"
    status = 422
    message = N_("The request is not valid.")


class InvalidIIN(InvalidInput):
    code = "identity.invalid_iin"
    message = N_("The IIN is not valid: {reason}.")


class InvalidBIN(InvalidInput):
    code = "identity.invalid_bin"
    message = N_("The BIN is not valid: {reason}.")


class InvalidEmployerNumber(InvalidInput):
    """An employer is a legal entity (BIN) or an individual entrepreneur (IIN); the number passes neither check."""

    code = "medbook.invalid_employer"
    message = N_(
        "The employer's number is neither a valid BIN of a legal entity nor a valid IIN of an individual "
        "entrepreneur: {reason}."
    )


class InvalidName(InvalidInput):
    code = "identity.invalid_name"
    message = N_("The name is not valid: {reason}.")


class PurposeRequired(InvalidInput):
    code = "identity.purpose_required"
    message = N_("This person is outside your organization's population: state the purpose of the read ({reason}).")


class UnknownKato(InvalidInput):
    code = "reference.unknown_kato"
    message = N_("The KATO code {kato} is not in the classifier.")


class AddressNotFound(InvalidInput):
    code = "reference.address_not_found"
    message = N_("No settlement of the KATO classifier was found in the address “{text}”.")


class AddressAmbiguous(InvalidInput):
    code = "reference.address_ambiguous"
    message = N_("The address “{text}” names several settlements: choose one, or add the region or district.")


class NoAddressOfKind(InvalidInput):
    code = "identity.no_address_of_kind"
    message = N_("No current address of this kind is recorded for you.")


class NameRequired(InvalidInput):
    code = "facilities.name_required"
    message = N_("Give the name in Kazakh and in Russian.")


class CapacityInvalid(InvalidInput):
    code = "facilities.capacity_invalid"
    message = N_("The capacity of a district is a whole number from 1 to {limit}.")


class DoctorNotAtEntity(InvalidInput):
    code = "facilities.doctor_not_at_entity"
    message = N_("This doctor holds no current post at your organization.")


class OutsideKazakhstan(InvalidInput):
    code = "geo.outside_kazakhstan"
    message = N_("The coordinates {lat}, {lon} are outside Kazakhstan.")


class InvalidDates(InvalidInput):
    code = "core.invalid_dates"
    message = N_("The dates are not consistent: {reason}.")


class ImportRejected(InvalidInput):
    code = "facilities.import_rejected"
    message = N_("The file was rejected: {count} bad rows. Nothing was written.")


class NotFound(RegistryError):
    code = "core.not_found"
    status = 404
    message = N_("Not found.")


class Conflict(RegistryError):
    code = "core.conflict"
    status = 409
    message = N_("The request conflicts with the current state.")


class DuplicateIIN(Conflict):
    code = "identity.duplicate_iin"
    message = N_("A person with this IIN is already registered.")


class DuplicateBIN(Conflict):
    code = "facilities.duplicate_bin"
    message = N_("An entity with this BIN is already registered.")


class DistrictNumberTaken(Conflict):
    code = "facilities.district_number_taken"
    message = N_("The site already has a district No. {number}.")


class IdempotencyMismatch(Conflict):
    code = "core.idempotency_mismatch"
    status = 422
    message = N_("This idempotency key was already used for a different request.")


class IdempotencyInProgress(Conflict):
    code = "core.idempotency_in_progress"
    message = N_("A request with this idempotency key is still being processed. Retry it in a moment.")


class AuthError(RegistryError):
    code = "auth.error"
    status = 401
    message = N_("Authentication is required.")


class NotAuthenticated(AuthError):
    code = "auth.not_authenticated"
    status = 401
    message = N_("Authentication is required.")


class BadCredentials(AuthError):
    code = "auth.bad_credentials"
    status = 401
    message = N_("The username or password is wrong.")


class Forbidden(AuthError):
    code = "auth.forbidden"
    status = 403
    message = N_("Your role does not allow this.")


class NoOrganization(Forbidden):
    code = "auth.no_organization"
    message = N_("This account is bound to no organization; ask your administrator to bind it.")


class PasswordChangeRequired(AuthError):
    code = "auth.password_change_required"
    status = 403
    message = N_("This was a one-time password: set a new password of your own to continue.")


class UsernameTaken(Conflict):
    code = "accounts.username_taken"
    message = N_("This username is already taken; choose another.")


class AccountInvalid(InvalidInput):
    code = "accounts.invalid"
    message = N_("The account details are not valid.")


class WeakPassword(InvalidInput):
    code = "accounts.weak_password"
    message = N_(
        "A new password needs at least {minimum} characters and must differ from the username and from the "
        "old password."
    )


class RoleNotAllowed(Forbidden):
    code = "accounts.role_not_allowed"
    message = N_(
        "You may not give this role: the Fund appoints organizations' administrators, and an organization's "
        "administrator appoints its own staff."
    )


class AccountNotFound(NotFound):
    code = "accounts.not_found"
    message = N_("There is no such account among those you administer.")


class AccountUnchangeable(Conflict):
    code = "accounts.unchangeable"
    message = N_("This account is deactivated; nothing more can be changed on it.")


class RuleViolation(RegistryError):
    code = "core.rule_violation"
    status = 422
    message = N_("A registry rule refuses this request.")


class VersionConflict(Conflict):
    code = "core.version_conflict"
    status = 412
    message = N_("The record was changed meanwhile; read it again and retry with its new ETag.")


class PreconditionRequired(Conflict):
    code = "core.precondition_required"
    status = 428
    message = N_("This update needs an If-Match header with the ETag of the record.")


class ApplicationPending(Conflict):
    code = "attachment.application_pending"
    message = N_("An application of this person is already waiting for a decision.")


class AlreadyDecided(Conflict):
    code = "attachment.already_decided"
    message = N_("The application has already been decided.")


class PolicyExists(Conflict):
    code = "attachment.policy_exists"
    message = N_("A campaign policy for {year} already exists.")


class PolicyLocked(Conflict):
    code = "attachment.policy_locked"
    message = N_("The campaign of {year} has opened; its policy can no longer be changed.")


class NotAttached(Conflict):
    code = "attachment.not_attached"
    message = N_("The person has no attachment to end.")


class EntityStillParticipating(Conflict):
    code = "attachment.entity_still_participating"
    message = N_("The organization still takes part in attachment; its people are not redistributed.")


class SnapshotExists(Conflict):
    code = "attachment.snapshot_exists"
    message = N_("A capitation snapshot for {day} already exists with other age bands.")


class BasisNotFitting(RuleViolation):
    code = "identity.basis_not_fitting"
    message = N_("The legal representation cannot be recorded: {reason}.")


class NotPersonsOrganization(Forbidden):
    code = "identity.not_persons_organization"
    message = N_(
        "Only a registrar of the organization the person is attached to, or the Fund, "
        "may record a legal representation."
    )


class PersonDead(RuleViolation):
    code = "attachment.person_dead"
    message = N_("The person is recorded as deceased.")


class RepresentativeRequired(RuleViolation):
    code = "attachment.representative_required"
    message = N_("An application for a minor or for another person must come from a valid legal representative.")


class DocumentRequired(RuleViolation):
    code = "attachment.document_required"
    message = N_(
        "A valid identity document is required of the person and, for a representative, of the representative too."
    )


class DocumentExpired(RuleViolation):
    code = "attachment.document_expired"
    message = N_("An identity document presented expired on {expires_on}.")


class InsuranceRequired(RuleViolation):
    code = "attachment.insurance_required"
    message = N_("A labour migrant from the EAEU needs a valid voluntary or imputed medical insurance contract.")


class EntityNotParticipating(RuleViolation):
    code = "attachment.entity_not_participating"
    message = N_(
        "The organization is not in the database of healthcare entities or has no contract with the Fund on {day}."
    )


class AlreadyAttached(RuleViolation):
    code = "attachment.already_attached"
    message = N_("The person is already attached to this district.")


class CampaignClosed(RuleViolation):
    code = "attachment.campaign_closed"
    message = N_(
        "The attachment campaign is closed on {day}; outside the campaign a change needs a valid "
        "reason (relocation, or closure or loss of contract of the current organization)."
    )


class ReasonNotValid(RuleViolation):
    code = "attachment.reason_not_valid"
    message = N_(
        "The reason given for a change outside the campaign does not hold: the current organization still takes part."
    )


class RelocationNotShown(RuleViolation):
    code = "attachment.relocation_not_shown"
    message = N_(
        "A change outside the campaign for relocation needs a new address: the state databases show no change of "
        "address since the current attachment was made."
    )


class ReasonUnknown(InvalidInput):
    code = "attachment.reason_unknown"
    message = N_(
        "Outside the campaign a change is allowed only for a valid reason: relocation, or closure, "
        "reorganization or loss of contract of the current organization."
    )


class BasisNotAllowed(RuleViolation):
    code = "attachment.basis_not_allowed"
    message = N_("This place basis is not allowed for this person under the campaign policy.")


class AddressMissing(RuleViolation):
    code = "attachment.address_missing"
    message = N_("The person has no current address for the chosen place basis.")


class AtuMismatch(RuleViolation):
    code = "attachment.atu_mismatch"
    message = N_("The clinic is outside the administrative-territorial unit of the person's address.")


class ProfileMismatch(RuleViolation):
    code = "attachment.profile_mismatch"
    message = N_("The district's profile does not serve the person's age group.")


class ChangeLimit(RuleViolation):
    code = "attachment.change_limit"
    message = N_("The limit of voluntary changes of organization per year ({limit}) is reached.")


class CapacityExceeded(RuleViolation):
    code = "attachment.capacity_exceeded"
    message = N_("The district has no free places.")


class ContractEndsBeforeEffect(RuleViolation):
    """A-05, B-03, B-06: the Fund contract and the inclusion are checked on the day the attachment takes effect."""

    code = "attachment.contract_ends_before_effect"
    message = N_(
        "The organization cannot take this attachment: its contract with the Fund or its inclusion in the "
        "database ends on {last_day}, before {begin}, the day the attachment would take effect."
    )


class CalendarNotCovered(InvalidInput):
    """A-52: a day beyond the working-day calendar's data; no deadline is counted from weekends alone."""

    code = "attachment.calendar_not_covered"
    message = N_(
        "The working-day calendar has no data for {day}: the holidays and transferred days off of {year} are "
        "not recorded yet, so no working day can be counted. Nothing was changed."
    )


# Messages used by the web and API doors that have no exception class of their own.
REQUEST_MESSAGES = (
    N_("The request body or parameters are not valid."),
    N_("The request body is not valid JSON."),
    N_("Not found."),
    N_("This method is not allowed here."),
    N_("Too many requests; try again later."),
)


class BodyTooLarge(InvalidInput):
    code = "core.body_too_large"
    status = 413
    message = N_("The request body is larger than {limit} MB.")


class NestingTooDeep(InvalidInput):
    code = "core.too_deep"
    status = 400
    message = N_("The request body is nested deeper than {limit} levels.")


class RateLimited(RegistryError):
    code = "core.rate_limited"
    status = 429
    message = N_("Too many requests; try again later.")


class TrustError(RegistryError):
    code = "trust.error"
    status = 422
    message = N_("The seal, signature or list cannot be used.")


class RecordTampered(RegistryError):
    code = "trust.record_tampered"
    status = 409
    message = N_(
        "This record was changed outside emhana, so the change was refused and nothing was saved. "
        "Tell the Fund's administrator: the integrity check names the record."
    )


class SealMalformed(TrustError):
    code = "trust.malformed"
    message = N_("The seal cannot be read: {reason}.")


class TrustListInvalid(TrustError):
    code = "trust.list_invalid"
    message = N_("The {kind} cannot be used: {reason}.")


class TrustListRollback(TrustError):
    code = "trust.list_rollback"
    status = 409
    message = N_("The {kind} number {sequence} is not newer than the one in use ({current}).")


class CertificateInvalid(TrustError):
    code = "trust.certificate_invalid"
    message = N_("The certificate or key cannot be used: {reason}.")


class SealRefused(TrustError):
    code = "trust.seal_refused"
    message = N_("The seal cannot be issued: {reason}.")


class SealUnknown(TrustError):
    code = "trust.seal_unknown"
    status = 404
    message = N_("This seal was not issued by this service.")


class UploadInvalid(TrustError):
    code = "trust.upload_invalid"
    message = N_("The file is not a picture. Upload a PNG, JPEG or WebP photo of the QR code.")


class UploadTooLarge(TrustError):
    code = "trust.upload_too_large"
    status = 413
    message = N_("The picture is larger than {limit} MB.")


class NoQrCode(TrustError):
    code = "trust.no_qr_code"
    message = N_("No QR code could be read in the picture. Take a sharper photo of the whole code.")


class PictureTooLarge(TrustError):
    code = "trust.picture_too_large"
    status = 413
    message = N_(
        "The picture has more than {limit} megapixels. Take a photo of the QR code alone, or send a smaller picture."
    )


class VerifierBusy(TrustError):
    code = "trust.verifier_busy"
    status = 503
    message = N_("The verifier is busy reading other pictures. Try again in a few seconds, or paste the seal's text.")


class BookNotFound(NotFound):
    code = "medbook.book_not_found"
    message = N_("The personal medical book does not exist.")


class EntryNotFound(NotFound):
    code = "medbook.entry_not_found"
    message = N_("The journal entry does not exist.")


class EmploymentNotFound(NotFound):
    code = "medbook.employment_not_found"
    message = N_("This book has no such current job.")


class ReferralNotFound(NotFound):
    code = "medbook.referral_not_found"
    message = N_("There is no such referral to your organization.")


class InfectionRuleNotFound(NotFound):
    code = "medbook.infection_rule_not_found"
    message = N_("The infection rule does not exist.")


class GroupNotFound(NotFound):
    code = "medbook.group_not_found"
    message = N_("The decreed group {group} is not in the catalogue on {day}.")


class BookExists(Conflict):
    code = "medbook.book_exists"
    message = N_("This person already has a personal medical book.")


class EntrySuperseded(Conflict):
    code = "medbook.entry_superseded"
    message = N_("This entry was already corrected; correct its current version.")


class NotIssuingStaff(Forbidden):
    code = "medbook.not_staff"
    message = N_(
        "Only clinicians and the responsible therapist of the issuing organization, or of an organization examining "
        "the worker now, may write in this book."
    )


class NotResponsibleTherapist(Forbidden):
    code = "medbook.not_responsible_therapist"
    message = N_("Only the appointed responsible therapist of the organization may do this.")


class NoEmployerLink(Forbidden):
    code = "medbook.no_employer_link"
    message = N_("This employer account is not linked to a BIN.")


class MedbookRule(RuleViolation):
    code = "medbook.rule"
    message = N_("A rule of personal medical books refuses this request.")


class IssuerNotEligible(MedbookRule):
    code = "medbook.issuer_not_eligible"
    message = N_(
        "Books are issued only by an organization that holds a medical licence and is registered in the Resource "
        "Management System on {day}."
    )


class ExaminerNotEligible(MedbookRule):
    code = "medbook.examiner_not_eligible"
    message = N_(
        "Only an organization that holds a medical licence and is registered in the Resource Management System "
        "may examine workers for a personal medical book ({day})."
    )


class InvalidJobDates(MedbookRule):
    code = "medbook.invalid_job_dates"
    message = N_("A job cannot end before it began: it began on {began}, the date given is {day}.")


class AppointeeNotEligible(MedbookRule):
    code = "medbook.appointee_not_eligible"
    message = N_("The appointee must be an active responsible-therapist account of the same organization.")


class ClearanceIncomplete(MedbookRule):
    code = "medbook.clearance_incomplete"
    message = N_(
        "Work clearance needs every required examination and test, current: missing {missing}; overdue {overdue}."
    )


class Contraindication(MedbookRule):
    code = "medbook.contraindication"
    message = N_("Work clearance is refused: a contraindication or infection was found ({items}).")


class CorrectionReasonRequired(MedbookRule):
    code = "medbook.correction_reason_required"
    message = N_("A correction must give its reason.")


class NotCorrectable(MedbookRule):
    code = "medbook.not_correctable"
    message = N_("Clearance and referral entries are not corrected; record a new one instead.")


class DateInFuture(MedbookRule):
    code = "medbook.date_in_future"
    message = N_("The date {day} is in the future.")


class ItemKindMismatch(MedbookRule):
    code = "medbook.item_kind_mismatch"
    message = N_("“{item}” cannot be recorded as “{kind}”: its kind is “{expected}”.")


class InvalidRequirement(MedbookRule):
    code = "medbook.invalid_requirement"
    message = N_("The item “{item}” of the decreed group is not valid: {reason}.")


class DiagnosisCodeInvalid(MedbookRule):
    code = "medbook.invalid_diagnosis_code"
    message = N_("“{code}” cannot be recorded as a diagnosis: {reason}.")


class DiagnosisIncomplete(MedbookRule):
    code = "medbook.diagnosis_incomplete"
    message = N_("A diagnosis needs its ICD-10 code and its clinical status, active or resolved.")


class ClinicalStatusNotAllowed(MedbookRule):
    code = "medbook.clinical_status_not_allowed"
    message = N_(
        "Only a diagnosis or a past infectious disease is active or resolved; leave the status empty for “{kind}”."
    )


class DiagnosisBarsWork(MedbookRule):
    code = "medbook.diagnosis_bars_work"
    message = N_(
        "Work clearance is refused while the diagnosis “{diagnosis}” ({code}) is active; record it as resolved after "
        "treatment and negative control tests."
    )


class InfectionRuleInvalid(MedbookRule):
    code = "medbook.invalid_infection_rule"
    message = N_("The infection rule cannot be saved: {reason}.")


class SignatureError(TrustError):
    code = "signature.error"
    message = N_("The signature cannot be accepted.")


class SignatureMalformed(SignatureError):
    code = "signature.malformed"
    message = N_("The signature is not a readable detached CMS signature: {reason}.")


class DigestMismatch(SignatureError):
    code = "signature.digest_mismatch"
    message = N_("The signature was made over other data than this record.")


class BadSignature(SignatureError):
    code = "signature.bad_signature"
    message = N_("The signature value does not verify with the signer's certificate.")


class UntrustedChain(SignatureError):
    code = "signature.untrusted_chain"
    message = N_("The signer's certificate does not chain to a trusted certification authority: {reason}.")


class CertificateExpired(SignatureError):
    code = "signature.expired"
    message = N_("The signer's certificate was not valid at the signing time {signed_at}.")


class CertificateRevoked(SignatureError):
    code = "signature.revoked"
    message = N_("The signer's certificate was revoked on {revoked_at}.")


class RevocationUnknown(SignatureError):
    code = "signature.revocation_unknown"
    message = N_("The revocation status of the signer's certificate is unknown: {reason}.")


class KeyUsageRefused(SignatureError):
    code = "signature.key_usage"
    message = N_("The certificate is not a signing certificate: {reason}.")


class WrongSigner(SignatureError):
    code = "signature.wrong_signer"
    message = N_("The certificate belongs to someone else: {reason}.")


class UnsupportedAlgorithm(SignatureError):
    code = "signature.unsupported_algorithm"
    message = N_("The signature algorithm {algorithm} is not supported here.")


class AlreadySigned(SignatureError):
    code = "signature.already_signed"
    status = 409
    message = N_("This record already carries another signature.")


class VerifierUnavailable(SignatureError):
    code = "signature.verifier_unavailable"
    status = 503
    message = N_("The signature verification service is unavailable: {reason}. Nothing was changed; try again later.")
