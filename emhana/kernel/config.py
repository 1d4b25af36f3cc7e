"""Typed settings: the one source of truth for infrastructure configuration (prefix EMHANA_)."""

from __future__ import annotations

import math
import string
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Infrastructure settings read from the environment.

    Country and campaign parameters are domain data with effective dates, not settings.
    """

    model_config = SettingsConfigDict(env_prefix="EMHANA_", extra="ignore")

    database_url: str = Field(default="sqlite:///./emhana.db")
    # Read replicas (docs/replicas.md): PostgreSQL streaming standbys (comma-separated URLs) that serve the routes
    # which only read, while their replay lag is within `replica_max_lag_seconds`; a client that has just written
    # reads from the primary for `replica_read_your_writes_seconds`. Empty: every request uses database_url.
    database_replica_urls: str = Field(default="", description="comma-separated URLs of PostgreSQL standbys")
    replica_max_lag_seconds: float = Field(default=5.0, ge=0)
    replica_read_your_writes_seconds: float = Field(default=10.0, ge=0)
    demo_mode: bool = False
    # Demo mode only: the folder of the demo PKI (`emhana demo` writes it beside a SQLite database, which is the
    # default) whose PKCS#12 files the desk's "Sign with the demo PKI" button uses (emhana/trust/signatures/demo.py).
    demo_pki: str = Field(default="", description="Folder of the demo PKI (demo mode only; not NCA RK)")
    secret_key: str = Field(default="", description="HMAC key for CSRF and cookies; generated if empty")
    token_ttl_minutes: int = 12 * 60
    default_language: str = "ru"
    host: str = "127.0.0.1"
    port: int = 8000
    cookie_secure: bool = False
    # Absolute links (FHIR Bundle.link and fullUrl) are built from `public_base_url` (the address users and MIS
    # reach, e.g. https://emhana.example.kz behind the reverse proxy), never from a client's Host header. When
    # `trusted_hosts` is set (comma-separated names, "*.example.kz" for subdomains; the host of public_base_url
    # is always in it), a request naming another Host is refused with 400 (emhana/web/hosts.py).
    public_base_url: str = Field(default="", description="e.g. https://emhana.example.kz; empty: see web/hosts.py")
    trusted_hosts: str = Field(default="", description="host names this server answers to; empty: any")
    # Bounded work per request (emhana/web/limits.py): bodies are refused with 413 before they are parsed; routes
    # that take files (scans, imports; the verifier's photo has its own 8 MB cap) get the upload limit, the FHIR
    # door the bundle limit (1,000 entries), everything else the small one; JSON nesting deeper than
    # `max_json_depth` is a 400.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="JSON and form bodies")
    max_upload_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="bodies of routes that take files")
    max_fhir_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, description="FHIR transaction bundles")
    max_json_depth: int = Field(default=64, ge=8, le=512)
    # Rate limits (emhana/web/ratelimit.py): counters shared by every worker through Redis when set (else each
    # process counts alone); X-Forwarded-For and X-Forwarded-Proto are believed only from these proxies
    # (comma-separated addresses or networks, e.g. "127.0.0.1,10.0.0.0/8"; empty: from nobody).
    redis_url: str = Field(default="", description="e.g. redis://127.0.0.1:6379/0; empty: in-process counters")
    trusted_proxies: str = Field(default="", description="addresses or networks of the reverse proxies")
    smtp_host: str = Field(default="", description="SMTP relay of the notification outbox; empty: log only")
    smtp_port: int = 25
    smtp_from: str = "noreply@emhana.invalid"
    # Reads of personal data one account may make in a day before it is flagged to the Fund (issue 14).
    read_flag_threshold: int = Field(default=300, ge=1)
    # The map of the clinic search (static/clinic_map.js): with no tile source it draws an offline base (the places
    # of the reference data and a scale); a production server may name an XYZ tile source, e.g.
    # https://tile.example.kz/{z}/{x}/{y}.png, whose origin the Content-Security-Policy then admits for images.
    map_tile_url: str = Field(default="", description="XYZ tile URL template (https); empty: offline base map")
    map_tile_attribution: str = Field(default="", description="attribution shown with the tiles, e.g. © OpenStreetMap")
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
    # Chain checkpoints (emhana/trust/chain/checkpoint.py): the P-256 key that signs them, kept outside the database
    # (`emhana audit checkpoint-key` makes one); `audit verify` checks checkpoints with its public half.
    checkpoint_key: str = Field(default="", description="PEM file of the key that signs chain checkpoints")

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: str) -> str:
        """Refuse a secret key with less than 256 bits (32 bytes) of entropy; empty means "none given"."""
        if value and secret_bits(value) < MIN_SECRET_BITS:
            raise ValueError(
                f"EMHANA_SECRET_KEY is too weak (about {secret_bits(value)} bits; at least {MIN_SECRET_BITS} bits, "
                "32 random bytes, are needed). Generate one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """Accept http(s)://host[:port][/path] without query or fragment; drop a trailing slash."""
        value = value.strip().rstrip("/")
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise ValueError("EMHANA_PUBLIC_BASE_URL must look like https://emhana.example.kz (no query)")
        return value

    @field_validator("map_tile_url")
    @classmethod
    def _tile_url(cls, value: str) -> str:
        """Accept an https XYZ template with {z}, {x} and {y} on a named host (empty: the offline base map)."""
        value = value.strip()
        if value:
            parts = urlsplit(value.replace("{", "").replace("}", ""))
            if parts.scheme != "https" or not parts.hostname or not all(f"{{{k}}}" in value for k in "zxy"):
                raise ValueError("EMHANA_MAP_TILE_URL must look like https://tile.example.kz/{z}/{x}/{y}.png")
        return value

    def map_tile_origin(self) -> str:
        """Return the origin (https://host[:port]) of the configured tile source, or "" when there is none."""
        if not self.map_tile_url:
            return ""
        netloc = urlsplit(self.map_tile_url).netloc.replace("{s}", "*")  # {s}.tile.example.kz: its subdomains
        return f"https://{netloc}" if "{" not in netloc else ""

    def trusted_host_names(self) -> tuple[str, ...]:
        """Return the configured host names, lower-case, with the host of public_base_url (empty: none set)."""
        names = [n.strip().lower() for n in self.trusted_hosts.split(",") if n.strip()]
        if names and self.public_base_url:
            names.append((urlsplit(self.public_base_url).hostname or "").lower())
        return tuple(dict.fromkeys(names))


MIN_SECRET_BITS = 256
MIN_SECRET_DISTINCT = 12
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def secret_bits(secret: str) -> int:
    """Estimate a secret's entropy in bits: length x log2(the size of the character classes it draws on).

    A string of fewer than MIN_SECRET_DISTINCT different characters counts as nothing (a repeated word or
    "kkkk..." is long but not random). `secrets.token_urlsafe(48)` estimates about 380 bits, `token_hex(32)` 330.
    """
    if len(set(secret)) < MIN_SECRET_DISTINCT:
        return 0
    pool = sum(len(c) for c in _CLASSES if any(ch in c for ch in secret))
    pool += 33 if any(not ch.isascii() or not ch.isalnum() for ch in secret) else 0
    return int(len(secret) * math.log2(max(pool, 2)))


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
