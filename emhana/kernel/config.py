"""Typed settings: the one source of truth for infrastructure configuration (prefix EMHANA_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Infrastructure settings read from the environment.

    Country and campaign parameters are domain data with effective dates, not settings.
    """

    model_config = SettingsConfigDict(env_prefix="EMHANA_", extra="ignore")

    database_url: str = Field(default="sqlite:///./emhana.db")
    demo_mode: bool = False
    secret_key: str = Field(default="", description="HMAC key for CSRF and cookies; generated if empty")
    token_ttl_minutes: int = 12 * 60
    default_language: str = "ru"
    host: str = "127.0.0.1"
    port: int = 8000
    cookie_secure: bool = False
    smtp_host: str = Field(default="", description="SMTP relay of the notification outbox; empty: log only")
    smtp_port: int = 25
    smtp_from: str = "noreply@emhana.invalid"
    # Seal document signers (docs/credentials.md §6.1): a DSC signs for at most `trust_rotate_days`, then a new one
    # takes over; it stays valid for `trust_dsc_days` so that every seal it made (exp <= notAfter) still verifies.
    # Their private keys are encrypted with a key derived from `secret_key` (emhana/trust/keys/wrap.py).
    trust_rotate_days: int = 365
    trust_dsc_days: int = 730
    # Record signatures (docs/credentials.md §4.3), read by emhana/trust/signatures/truststore.py. Path lists are
    # separated by os.pathsep (":" on Linux): the trusted root CAs (NCA RK's RSA and GOST roots; the demo's
    # root-ca.pem), cached CRLs (files or folders of *.crl, refreshed by a job; nothing is fetched), and
    # intermediate CAs that CMS files may omit; the NCANode sidecar verifies GOST signatures (empty: none).
    signature_anchors: str = Field(default="", description="PEM files of the trusted root CAs (os.pathsep list)")
    signature_crls: str = Field(default="", description="Cached CRL files or folders (os.pathsep list)")
    signature_intermediates: str = Field(default="", description="PEM files of extra intermediate CAs")
    ncanode_url: str = Field(default="", description="NCANode sidecar for GOST signatures, e.g. http://127.0.0.1:14579")
    # The seal scheme CA certificate that `emhana verify --trust-list` pins (else scheme-ca.pem beside the list).
    trust_anchor: str = Field(default="", description="PEM/DER file of the seal scheme CA for `emhana verify`")


_GIVEN: list[Settings] = []  # settings a command gave the process (use_settings), else none


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings: those given by ``use_settings``, else read from the environment."""
    return _GIVEN[0] if _GIVEN else Settings()


def use_settings(settings: Settings) -> None:
    """Make these the process-wide settings (``emhana demo`` serves its own database so, without writing the
    environment)."""
    _GIVEN[:] = [settings]
    get_settings.cache_clear()
