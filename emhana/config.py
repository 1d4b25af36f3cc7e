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


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()
