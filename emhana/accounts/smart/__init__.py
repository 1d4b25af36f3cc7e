"""SMART Backend Services: system clients' credentials and scopes (issue 17). ``rules`` holds the pure checks
(scopes, assertion claims, which registered keys may verify), ``service`` the token issue. The token endpoint's
path is fixed here so that the FHIR door's discovery documents and the JSON door agree on it."""

from __future__ import annotations

TOKEN_PATH = "/api/v1/oauth/token"  # the SMART token endpoint (emhana/api/oauth.py), under the public base URL


def token_url(public_base: str) -> str:
    """Return the absolute URL of the token endpoint under a public base URL (no trailing slash)."""
    return public_base.rstrip("/") + TOKEN_PATH
