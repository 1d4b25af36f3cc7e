"""The sign-in interface: every way of signing in starts, then finishes with a verified person or account.

``SignInMethod`` is the small protocol behind the login page (docs/sign-in.md):

- ``start`` returns what the browser needs next: a challenge to sign (EDS), a redirect (OpenID Connect) or
  nothing (a password form);
- ``finish`` takes what came back and returns a ``Verified`` (the account, or the person's IIN the certificate or
  the provider vouched for), or raises a coded ``AuthError``.

Implementations: ``PasswordSignIn`` (here, over ``LocalAuthenticator``), ``EdsSignIn``
(``emhana.trust.signatures.signin``: a CMS over a one-time challenge, verified against the configured anchors and
CRLs), and ``OidcSignIn`` below, a skeleton that is NOT wired anywhere: it documents how an OpenID Connect
provider (e.g. eGov IDP) would take the same place, and refuses to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor, LocalAuthenticator


@dataclass(frozen=True)
class Started:
    """What the browser does next: sign ``challenge`` (EDS), go to ``redirect`` (OIDC), or nothing."""

    method: str
    nonce: str = ""
    challenge: bytes = b""
    redirect: str = ""


@dataclass(frozen=True)
class Verified:
    """Who signed in: the account it opens, and the IIN vouched for (by a certificate or a provider)."""

    actor: Actor
    iin: str | None = None
    evidence: Mapping[str, object] = field(default_factory=dict)


class SignInMethod(Protocol):
    """One way of signing in (password, EDS, OpenID Connect)."""

    name: str

    def start(self, *, session: Session, origin: str) -> Started:
        """Begin: return what the browser needs next."""
        ...

    def finish(self, *, session: Session, answer: Mapping[str, str]) -> Verified:
        """End: verify what came back; return who signed in or raise an AuthError."""
        ...


class PasswordSignIn:
    """Username and password against local accounts (the staff's way; citizens sign in with their EDS)."""

    name = "password"

    def __init__(self, authenticator: LocalAuthenticator | None = None) -> None:
        self.authenticator = authenticator or LocalAuthenticator()

    def start(self, *, session: Session, origin: str) -> Started:
        """Nothing to prepare: the page shows the form."""
        return Started(self.name)

    def finish(self, *, session: Session, answer: Mapping[str, str]) -> Verified:
        """Check ``username`` and ``password``; raise BadCredentials or PasswordChangeRequired."""
        actor = self.authenticator.authenticate(
            session=session, username=answer.get("username", "").strip(), password=answer.get("password", "")
        )
        return Verified(actor)


class OidcSignIn:
    """SKELETON, NOT WIRED: an OpenID Connect provider (eGov IDP or another) behind the same interface.

    How it would work (authorization code flow with PKCE): ``start`` stores state, nonce and code verifier in a
    ``sign_in_challenge``-like row and returns the provider's authorization URL as ``redirect``; ``finish`` takes
    ``code`` and ``state``, exchanges the code at the token endpoint, verifies the ID token (issuer, audience,
    nonce, expiry, signature with the provider's JWKS) and maps its IIN claim to the citizen account exactly as
    ``EdsSignIn`` does. Nothing here talks to a provider yet: both calls raise NotImplementedError.
    """

    name = "oidc"

    def __init__(self, *, issuer: str, client_id: str, redirect_uri: str) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri

    def start(self, *, session: Session, origin: str) -> Started:
        """Not implemented: would return the provider's authorization URL."""
        raise NotImplementedError("OpenID Connect sign-in is documented (docs/sign-in.md), not implemented")

    def finish(self, *, session: Session, answer: Mapping[str, str]) -> Verified:
        """Not implemented: would verify the ID token and map its IIN to the citizen account."""
        raise NotImplementedError("OpenID Connect sign-in is documented (docs/sign-in.md), not implemented")
