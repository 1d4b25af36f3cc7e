"""Demo signing on the server, for demo mode only: the demo PKI that `emhana demo` writes (a PKI shaped like NCA
RK's, not NCA RK) and its PKCS#12 file per demo signer, named after the account.

The desk's "Sign with the demo PKI (not NCA RK)" button plays NCALayer's part with the signer's file and attaches
the signature through the same ``service.attach_signature`` as the NCALayer flow, so the path and CRL checks of the
app's trust store (the demo root, intermediate and CRL) still run. Outside demo mode it refuses (``NotFound``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.kernel.config import Settings
from emhana.kernel.errors import NotFound
from emhana.trust.signatures import service
from emhana.trust.signatures.models import RecordSignature
from emhana.trust.signatures.records import RecordKind
from emhana.trust.signatures.truststore import TrustStore

PASSWORD = "demo-pki"  # the password of the demo PKCS#12 files (emhana.devtools.pki_demo.DEMO_PASSWORD)


def pki_folder(url: str) -> Path | None:
    """Return the folder of the demo PKI next to a SQLite demo database (None for other databases)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return None
    db = Path(url[len(prefix) :])
    return db.with_name(f"{db.stem}-pki")


def folder_of(settings: Settings) -> Path | None:
    """Return the demo PKI folder of the settings (``demo_pki``, else the one beside a SQLite database); None
    outside demo mode."""
    if not settings.demo_mode:
        return None
    return Path(settings.demo_pki) if settings.demo_pki else pki_folder(settings.database_url)


def pkcs12_path(folder: Path, username: str) -> Path | None:
    """Return a demo signer's PKCS#12 file, or None when the folder holds none for that account."""
    if not username or "/" in username or "\\" in username or username.startswith("."):
        return None
    path = folder / f"{username}.p12"
    return path if path.is_file() else None


def available(settings: Settings, username: str) -> bool:
    """Tell whether an account may sign with the demo PKI here: demo mode, and a file for the account."""
    folder = folder_of(settings)
    return folder is not None and pkcs12_path(folder, username) is not None


def sign(
    session: Session, kind: RecordKind, record_id: int, *, actor: Actor, settings: Settings, trust: TrustStore
) -> RecordSignature:
    """Sign a record with the actor's demo PKCS#12 file and attach it (verified as any signature); refuse with
    NotFound outside demo mode or without a file for the actor."""
    folder = folder_of(settings)
    path = pkcs12_path(folder, actor.username) if folder is not None else None
    if path is None:
        raise NotFound()
    return service.sign_record(
        session, kind, record_id, pkcs12=path.read_bytes(), password=PASSWORD, actor=actor, trust=trust
    )
