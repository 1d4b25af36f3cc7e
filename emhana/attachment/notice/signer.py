"""Signing the attachment notice (A-54): a named interface, a demo ES256 signer, and the pending state.

A-54 wants the notice signed with the PHC organization's EDS: a CMS signature by its NCA RK
certificate, which needs the record-signature part of the trust component (issue "[4 of 7]"). Until
then ``DemoNotificationSigner`` makes an honest stand-in: a detached ES256 signature over the PDF bytes
by a demo document-signer certificate of the organization (issued by the demo seal-scheme CA of
emhana.trust.keys.pki, EKU "attachment.notification"). It is marked ``qualified=False`` and the notice says
that the organization's EDS is pending; the exact bytes that the EDS will sign are stored beside it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from dataclasses import asdict, dataclass
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from emhana.facilities.models import Entity
from emhana.kernel import clock
from emhana.trust.keys import pki
from emhana.trust.keys.certs import OID_SEAL_ATTACHMENT, extended_key_usages, subject_bin
from emhana.trust.keys.es256 import raw_to_der, sign_es256

RECORD_TYPE = "attachment.notification"


@dataclass(frozen=True)
class Signature:
    """A detached signature over a document's bytes, with what a verifier needs to check it."""

    format: str  # "demo-es256-detached" now; "cms-detached" once the NCA RK EDS is in
    algorithm: str  # "ES256" (raw r||s, base64 in ``value``), or "" when pending
    value: str
    certificate_pem: str
    digest_sha256: str  # of the signed bytes
    qualified: bool  # True only for the organization's NCA RK EDS
    signed_at: str

    @property
    def status(self) -> str:
        """Return "signed" for a qualified EDS, "demo" for the stand-in, "pending" when nothing signed."""
        return "signed" if self.qualified else ("demo" if self.value else "pending")

    def to_json(self) -> str:
        """Return the stored form."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Signature:
        """Return a signature from its stored form."""
        return cls(**json.loads(text))


class NotificationSigner(Protocol):
    """Signs an attachment notice on behalf of the organization that decided it (A-54)."""

    def sign(self, document_bytes: bytes, entity: Entity) -> Signature:
        """Return the detached signature of the document by the entity."""
        ...


class PendingSigner:
    """Signs nothing: records the digest of the bytes the organization's EDS will sign."""

    def sign(self, document_bytes: bytes, entity: Entity) -> Signature:
        """Return a pending signature (no value)."""
        return Signature(
            "pending",
            "",
            "",
            "",
            hashlib.sha256(document_bytes).hexdigest(),
            False,
            clock.now().isoformat(),
        )


class DemoNotificationSigner:
    """Signs with a demo ES256 document-signer per organization, issued on first use by a demo scheme CA.

    DEMO ONLY: the keys live in memory; the certificate is stored with each signature so that it verifies later.
    """

    def __init__(self, *, now: dt.datetime | None = None) -> None:
        self._start = (now or clock.now()) - dt.timedelta(days=1)
        self._ca = pki.make_scheme_ca(not_before=self._start)
        self._signers: dict[str, pki.Issued] = {}
        self._lock = threading.Lock()

    @property
    def ca_certificate(self) -> x509.Certificate:
        """Return the demo scheme CA certificate (the anchor a verifier pins)."""
        return self._ca.certificate

    def _dsc(self, entity: Entity) -> pki.Issued:
        with self._lock:
            if entity.bin not in self._signers:
                self._signers[entity.bin] = pki.make_dsc(
                    self._ca,
                    facility_name=entity.name_ru,
                    bin_=entity.bin,
                    not_before=self._start,
                    record_types=(RECORD_TYPE,),
                )
            return self._signers[entity.bin]

    def sign(self, document_bytes: bytes, entity: Entity) -> Signature:
        """Return the demo ES256 signature of the document by the entity's demo document signer."""
        dsc = self._dsc(entity)
        assert isinstance(dsc.key, ec.EllipticCurvePrivateKey)
        value = sign_es256(dsc.key, document_bytes)
        return Signature(
            "demo-es256-detached",
            "ES256",
            base64.b64encode(value).decode("ascii"),
            dsc.pem().decode("ascii"),
            hashlib.sha256(document_bytes).hexdigest(),
            False,
            clock.now().isoformat(),
        )


def verify(
    document_bytes: bytes,
    signature: Signature,
    *,
    entity_bin: str | None = None,
    anchor: x509.Certificate | None = None,
) -> bool:
    """Tell whether a demo ES256 signature verifies over the bytes: key, EKU, BIN and (if given) the CA."""
    if signature.algorithm != "ES256" or not signature.value:
        return False
    if hashlib.sha256(document_bytes).hexdigest() != signature.digest_sha256:
        return False
    try:
        cert = x509.load_pem_x509_certificate(signature.certificate_pem.encode("ascii"))
        usages = extended_key_usages(cert)
        if usages is not None and OID_SEAL_ATTACHMENT not in usages:
            return False
        if entity_bin is not None and subject_bin(cert) != entity_bin:
            return False
        if anchor is not None:
            cert.verify_directly_issued_by(anchor)
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            return False
        public.verify(raw_to_der(base64.b64decode(signature.value)), document_bytes, ec.ECDSA(hashes.SHA256()))
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def seal_notice(
    session: Session, *, entity_id: int, number: str, kind: str, site: str, begin: dt.date | None, now: dt.datetime
) -> str:
    """Return the organization's QR seal of a notice (A-54), signed by its document signer
    (emhana.trust.scheme.signers).

    The seal carries the entity (iss = BIN), the site, the begin date and the notice number; never the person.
    """
    from emhana.trust.scheme import issue as seals
    from emhana.trust.seals import cwt

    notice = cwt.Notice(number, cwt.NoticeKind.REFUSAL if kind == "refusal" else cwt.NoticeKind.ATTACHMENT, site, begin)
    return seals.issue_notice(session, entity_id=entity_id, notice=notice, now=now)


_default: DemoNotificationSigner | None = None
_default_lock = threading.Lock()


def default_signer() -> NotificationSigner:
    """Return the process-wide signer (the demo signer until the organization's EDS lands)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = DemoNotificationSigner()
        return _default


__all__ = [
    "DemoNotificationSigner",
    "NotificationSigner",
    "PendingSigner",
    "Signature",
    "default_signer",
    "seal_notice",
    "verify",
]
