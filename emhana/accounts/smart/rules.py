"""Pure rules of SMART Backend Services (system credentials, issue 17): what a system scope allows, which of the
requested scopes a client is granted, and whether the claims of a client assertion (RFC 7523) hold. Plain
values in, a decision out (no database, web, network or clock; the service decodes the JWT and reads the clock).

Scopes follow SMART App Launch 2 (``system/Observation.rs``: c create, r read, u update, d delete, s search);
the SMART 1 forms ``system/Patient.read`` (r and s), ``.write`` (c, u and d) and ``.*`` are accepted as their
equivalents. Only ``system/`` scopes count: a system client acts for no user and no patient.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emhana.kernel.i18n import N_

ALGORITHMS = ("RS384", "ES384")  # SMART Backend Services: the server supports both, the client signs with one
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRANT_TYPE = "client_credentials"
MAX_ASSERTION_LIFETIME = dt.timedelta(minutes=5)  # exp no more than five minutes ahead
LEEWAY = dt.timedelta(seconds=30)  # clocks of client and server differ a little
TOKEN_LIFETIME = dt.timedelta(minutes=5)  # the access token's expires_in (SMART recommends at most 5 minutes)
PERMISSIONS = "cruds"  # SMART 2 order
V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_TYPE = re.compile(r"^(\*|[A-Z][A-Za-z]{1,63})$")

# The resource types a scope may name besides ``*`` (what /fhir/R4 serves or accepts).
RESOURCE_TYPES = (
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Group",
    "Observation",
    "DiagnosticReport",
    "Immunization",
    "Condition",
    "Provenance",
)


@dataclass(frozen=True)
class Scope:
    """One system scope: a resource type (or ``*``) and the permissions it grants."""

    resource: str
    permissions: frozenset[str]

    def text(self) -> str:
        """Return the scope in SMART 2 syntax (``system/Patient.rs``)."""
        return f"system/{self.resource}." + "".join(p for p in PERMISSIONS if p in self.permissions)


def parse_scope(text: str) -> Scope | None:
    """Return the system scope a text names, or None (another context, a granular ``?`` scope, a typo)."""
    if not text.startswith("system/") or "?" in text:
        return None
    resource, dot, perms = text[len("system/") :].partition(".")
    if not dot or not _TYPE.match(resource):
        return None
    if perms in V1:
        return Scope(resource, frozenset(V1[perms]))
    # SMART 2: the letters present, each once, in the order c r u d s.
    if not perms or any(p not in PERMISSIONS for p in perms) or list(perms) != sorted(perms, key=PERMISSIONS.index):
        return None
    if len(set(perms)) != len(perms):
        return None
    return Scope(resource, frozenset(perms))


def parse_scopes(texts: Iterable[str]) -> list[Scope]:
    """Return the system scopes among texts (others are left out)."""
    return [s for s in (parse_scope(t) for t in texts) if s is not None]


def allows(scopes: Iterable[str], resource: str, permission: str) -> bool:
    """Tell whether granted scopes allow one permission (a letter of ``cruds``) on a resource type."""
    return any(permission in s.permissions and s.resource in ("*", resource) for s in parse_scopes(scopes))


def allowed(scopes: Iterable[str], resource: str) -> frozenset[str]:
    """Return every permission granted scopes give on a resource type."""
    out: set[str] = set()
    for s in parse_scopes(scopes):
        if s.resource in ("*", resource):
            out |= s.permissions
    return frozenset(out)


def grant(requested: str, granted: Iterable[str]) -> tuple[str, ...]:
    """Return the scopes to grant for a request: each requested system scope narrowed to what the client was
    granted (RFC 6749 §3.3: the server may issue less than asked and says so in ``scope``); a requested scope
    granted whole keeps its own spelling, a narrowed one is written in SMART 2 syntax, one granted nothing is
    left out. Anything that is not a system scope (``launch/patient``, ``openid``) is left out as well."""
    have = parse_scopes(granted)
    out: list[str] = []
    for text in dict.fromkeys(requested.split()):
        want = parse_scope(text)
        if want is None:
            continue
        if want.resource == "*":
            # A wildcard is granted only as far as a granted wildcard reaches: types granted one by one do not
            # add up to "every type".
            perms = frozenset().union(*(s.permissions for s in have if s.resource == "*")) & want.permissions
        else:
            perms = want.permissions & frozenset().union(
                *(s.permissions for s in have if s.resource in ("*", want.resource))
            )
        if not perms:
            continue
        out.append(text if perms == want.permissions else Scope(want.resource, perms).text())
    return tuple(out)


# --- The client assertion (RFC 7523 §3, SMART Backend Services "Authenticating to the token endpoint") ---------


@dataclass(frozen=True)
class Refusal:
    """Why a token request is refused: the OAuth error (RFC 6749 §5.2), the registry's stable code and message."""

    error: str
    code: str
    message: str
    params: Mapping[str, Any] | None = None

    @property
    def status(self) -> int:
        """Return the HTTP status: 401 for a client that failed to authenticate, 400 otherwise."""
        return 401 if self.error == "invalid_client" else 400


MSG_GRANT = N_("The grant type must be {grant}.")
MSG_PASSWORD_HERE = N_(
    "Client applications get tokens at {token_url} with a signed client assertion (SMART Backend Services); "
    "this endpoint takes people's usernames and passwords."
)
MSG_ASSERTION_TYPE = N_("The client assertion type must be {type}.")
MSG_ASSERTION_MISSING = N_("The request has no client assertion.")
MSG_MALFORMED = N_("The client assertion is not a readable JWT.")
MSG_ALGORITHM = N_("The client assertion must be signed with RS384 or ES384.")
MSG_UNKNOWN_CLIENT = N_("No active client application has this identifier.")
MSG_ISS_SUB = N_("The client assertion's iss and sub must both be the client application's identifier.")
MSG_AUDIENCE = N_("The client assertion's aud must be this token endpoint, {token_url}.")
MSG_EXPIRED = N_("The client assertion has expired.")
MSG_TOO_LONG = N_("The client assertion's exp must be at most five minutes ahead.")
MSG_NO_JTI = N_("The client assertion has no jti.")
MSG_REPLAY = N_("This client assertion (its jti) was already used.")
MSG_UNKNOWN_KEY = N_("No public key in the client application's key set matches the assertion's kid and algorithm.")
MSG_SIGNATURE = N_("The client assertion's signature does not verify with a key of the client application's key set.")
MSG_SCOPE_MISSING = N_("The request must name the scopes it asks for.")
MSG_SCOPE = N_("None of the requested scopes is granted to this client application.")


def refuse_client(code: str, message: str, **params: Any) -> Refusal:
    """Return an invalid_client refusal (the client failed to authenticate)."""
    return Refusal("invalid_client", code, message, params or None)


def claims_problem(claims: Mapping[str, Any], *, client_id: str, token_url: str, now: dt.datetime) -> Refusal | None:
    """Return why the claims of a signature-checked assertion are refused, or None when they hold: iss = sub =
    client_id, aud the token endpoint, exp in the future and at most five minutes ahead, a jti."""
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        return refuse_client("oauth.assertion_subject", MSG_ISS_SUB)
    aud = claims.get("aud")
    if not (aud == token_url or (isinstance(aud, list) and token_url in aud)):
        return refuse_client("oauth.assertion_audience", MSG_AUDIENCE, token_url=token_url)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return refuse_client("oauth.assertion_malformed", MSG_MALFORMED)
    expires = dt.datetime.fromtimestamp(exp, dt.UTC)
    if expires + LEEWAY <= now:
        return refuse_client("oauth.assertion_expired", MSG_EXPIRED)
    if expires > now + MAX_ASSERTION_LIFETIME + LEEWAY:
        return refuse_client("oauth.assertion_too_long", MSG_TOO_LONG)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        return refuse_client("oauth.assertion_no_jti", MSG_NO_JTI)
    return None


def public_keys(jwks: Mapping[str, Any], *, kid: str | None, alg: str) -> list[dict[str, Any]]:
    """Return the public keys of a JWK set that may verify an assertion: the key of the header's ``kid`` (any
    key when the header names none), of the algorithm's key type and curve, never a key with private parts."""
    kty, crv = ("RSA", None) if alg == "RS384" else ("EC", "P-384")
    out: list[dict[str, Any]] = []
    keys = jwks.get("keys")
    for key in keys if isinstance(keys, list) else []:
        if not isinstance(key, dict) or "d" in key:
            continue
        if kid is not None and key.get("kid") != kid:
            continue
        if key.get("kty") != kty or (crv is not None and key.get("crv") != crv):
            continue
        if key.get("alg") not in (None, alg) or key.get("use") not in (None, "sig"):
            continue
        out.append(dict(key))
    return out
