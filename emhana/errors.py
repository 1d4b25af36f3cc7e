"""The one exception tree of emhana, with stable codes rendered as RFC 9457 problem+json.

    RegistryError                       500 core.internal
    ├── InvalidInput                    422 (base for input problems)
    │   ├── InvalidIIN                  422 identity.invalid_iin
    │   ├── InvalidBIN                  422 identity.invalid_bin
    │   ├── UnknownKato                 422 reference.unknown_kato
    │   ├── OutsideKazakhstan           422 geo.outside_kazakhstan
    │   ├── InvalidDates                422 core.invalid_dates
    │   └── ImportRejected              422 facilities.import_rejected (carries row errors)
    ├── NotFound                        404 core.not_found
    ├── Conflict                        409 core.conflict
    │   ├── DuplicateIIN                409 identity.duplicate_iin
    │   ├── DuplicateBIN                409 facilities.duplicate_bin
    │   └── IdempotencyMismatch         422 core.idempotency_mismatch
    ├── AuthError
    │   ├── NotAuthenticated            401 auth.not_authenticated
    │   ├── BadCredentials              401 auth.bad_credentials
    │   └── Forbidden                   403 auth.forbidden
    └── RuleViolation                   422 (base for business-rule refusals of later domains)

Each class has a stable machine ``code``, an HTTP ``status`` and an English message template that
is the msgid of the kk/ru/en catalogues (``emhana/i18n``); ``params`` fill the template.
"""

from __future__ import annotations

from typing import Any, ClassVar


def N_(message: str) -> str:
    """Mark a string for extraction into the catalogues without translating it here."""
    return message


class RegistryError(Exception):
    """Base of every error emhana reports to a user."""

    code: ClassVar[str] = "core.internal"
    status: ClassVar[int] = 500
    message: ClassVar[str] = N_("An internal error occurred. Nothing was changed.")

    def __init__(self, message: str | None = None, /, *, errors: list[dict[str, Any]] | None = None,
                 **params: Any) -> None:
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


class UnknownKato(InvalidInput):
    code = "reference.unknown_kato"
    message = N_("The KATO code {kato} is not in the classifier.")


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


class IdempotencyMismatch(Conflict):
    code = "core.idempotency_mismatch"
    status = 422
    message = N_("This idempotency key was already used for a different request.")


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


class RuleViolation(RegistryError):
    code = "core.rule_violation"
    status = 422
    message = N_("A registry rule refuses this request.")


# Messages used by the web and API doors that have no exception class of their own.
REQUEST_MESSAGES = (
    N_("The request body or parameters are not valid."),
    N_("The request body is not valid JSON."),
    N_("Not found."),
    N_("This method is not allowed here."),
    N_("Too many requests; try again later."),
)
