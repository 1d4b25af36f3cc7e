"""The SMART token endpoint for system clients (issue 17; docs/system-clients.md): OAuth 2.0 client credentials
with a signed JWT client assertion (RFC 7523, SMART Backend Services), and the SMART discovery document of the
FHIR door. People keep their passwords at /api/v1/auth/token; ``password_grant_only`` sends a system client that
knocks there to this endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from emhana.accounts import smart
from emhana.accounts.smart import rules
from emhana.accounts.smart.rules import Refusal
from emhana.accounts.smart.service import TokenRefused, TokenRequest, issue
from emhana.kernel import clock
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import LANGUAGES, translate
from emhana.web.deps import SessionDep, public
from emhana.web.hosts import public_base
from emhana.web.problems import language

router = APIRouter(tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1: token answers are never cached
FHIR_BASE = "/fhir/R4"


def _scopes_supported() -> list[str]:
    """The system scopes this server understands: read and search of every type it serves, create and update
    of those a transaction accepts, and the wildcards."""
    writable = ("Observation", "DiagnosticReport", "Immunization", "Condition", "Provenance")
    out = [f"system/{t}.rs" for t in rules.RESOURCE_TYPES]
    out += [f"system/{t}.cu" for t in writable]
    return [*out, "system/*.rs", "system/*.cruds"]


def token_url(request: Request) -> str:
    """Return the absolute URL of the token endpoint, from the configured public base (never a client's Host)."""
    return smart.token_url(public_base(request))


def _refused(request: Request, refusal: Refusal) -> JSONResponse:
    """Render a refusal as RFC 6749 §5.2 JSON (``error``, ASCII ``error_description``), with the registry's
    stable ``code`` and its message in the request's language and in kk, ru and en."""
    params = dict(refusal.params or {})
    messages = {lg: translate(lg, refusal.message, params) for lg in LANGUAGES}
    body: dict[str, Any] = {
        "error": refusal.error,
        "error_description": messages["en"],
        "code": refusal.code,
        "detail": messages[language(request)],
        "messages": messages,
    }
    return JSONResponse(body, status_code=refusal.status, headers=NO_STORE)


@router.post("/api/v1/oauth/token", dependencies=[public()])
def client_token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[str | None, Form(max_length=100)] = None,
    client_assertion_type: Annotated[str | None, Form(max_length=200)] = None,
    client_assertion: Annotated[str | None, Form(max_length=16_000)] = None,
    scope: Annotated[str | None, Form(max_length=4_000)] = None,
    client_id: Annotated[str | None, Form(max_length=200)] = None,
) -> JSONResponse:
    """Issue a five-minute bearer token to a system client (SMART Backend Services): ``grant_type``
    client_credentials, ``client_assertion_type`` jwt-bearer, a ``client_assertion`` signed (RS384 or ES384) with
    a key of the client's registered JWK set, and the system ``scope``s asked for; the answer names the scopes
    granted. Refusals follow RFC 6749 §5.2 (``error``) and carry the registry's ``code`` and messages."""
    form = TokenRequest(
        grant_type=grant_type,
        client_assertion_type=client_assertion_type,
        client_assertion=client_assertion,
        scope=scope,
        client_id=client_id,
    )
    try:
        granted = issue(
            session=session,
            request=form,
            token_url=token_url(request),
            now=clock.now(),
            claims_now=clock.machine_now(),  # the client stamps its assertion with the machine's real time
        )
    except TokenRefused as exc:
        session.rollback()  # a refused request leaves the database as it was (the purge of old jtis included)
        return _refused(request, exc.refusal)
    return JSONResponse(
        {
            "access_token": granted.access_token,
            "token_type": "bearer",
            "expires_in": granted.expires_in,
            "scope": granted.scope,
        },
        headers=NO_STORE,
    )


@router.get(f"{FHIR_BASE}/.well-known/smart-configuration", dependencies=[public()])
def smart_configuration(request: Request) -> JSONResponse:
    """The SMART configuration of the FHIR door: where system clients get tokens and how they authenticate."""
    return JSONResponse(
        {
            "token_endpoint": token_url(request),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(rules.ALGORITHMS),
            "grant_types_supported": [rules.GRANT_TYPE],
            "scopes_supported": _scopes_supported(),
            "capabilities": ["client-confidential-asymmetric", "permission-v2"],
        }
    )


class UseClientToken(RegistryError):
    """A system client's grant posted to the people's password endpoint."""

    code = "oauth.unsupported_grant_type"
    status = 400
    message = rules.MSG_PASSWORD_HERE


async def password_grant_only(request: Request) -> None:
    """Refuse, before the password form is validated, a client-credentials grant posted to the people's token
    endpoint, naming the endpoint where system clients get tokens (instead of a bare 422)."""
    if "form" not in request.headers.get("content-type", ""):
        return
    form = await request.form()
    if form.get("grant_type") == rules.GRANT_TYPE or "client_assertion" in form:
        raise UseClientToken(token_url=token_url(request))
