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
    # Seal document signers (CREDENTIALS.md §6.1): a DSC signs for at most `trust_rotate_days`, then a new one
    # takes over; it stays valid for `trust_dsc_days` so that every seal it made (exp <= notAfter) still verifies.
    # Their private keys are encrypted with a key derived from `secret_key` (emhana/trust/keys/wrap.py).
    trust_rotate_days: int = 365
    trust_dsc_days: int = 730


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()
