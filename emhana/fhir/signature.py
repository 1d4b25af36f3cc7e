"""The one interface the FHIR door uses to check an authoring clinician's signature: ``check_provenance``.

It takes the signed bytes (``canonical.signed_bytes``), the detached CMS of the Provenance, the author IIN
the Provenance names and the BIN of the sending organization, and returns the evidence or raises
``SignatureRejected`` with a reason. Trust anchors, intermediates and cached CRLs come from ``Trust``:
``load_trust`` takes the project's one trust configuration for record signatures from ``Settings``
(``emhana.trust.signatures.truststore.from_settings``: ``EMHANA_SIGNATURE_ANCHORS``, ``EMHANA_SIGNATURE_CRLS``,
``EMHANA_SIGNATURE_INTERMEDIATES``); tests may set ``app.state.fhir_trust``.

The check itself is the trust component's: ``emhana.trust.signatures.cms.verify_detached`` (path validation to
the self-signed anchors, the other configured certificates as intermediates, validity at the check time, key
usage, revocation by the cached CRLs) and ``emhana.trust.signatures.identity.check_signer`` (the certificate's IIN
is the author's, its BIN the sending organization's). Unsigned bundles never reach this function: the
inbound check refuses them first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509

from emhana.kernel.config import Settings, get_settings
from emhana.kernel.errors import SignatureError, WrongSigner
from emhana.trust.signatures.cms import verify_detached
from emhana.trust.signatures.evidence import Evidence
from emhana.trust.signatures.identity import check_signer
from emhana.trust.signatures.truststore import from_settings


class SignatureRejected(Exception):
    """The signature cannot be accepted: the trust component's error; ``mismatch`` marks a wrong signer."""

    def __init__(self, error: SignatureError, *, mismatch: bool = False) -> None:
        self.error = error
        self.reason = error.english()
        self.mismatch = mismatch
        super().__init__(self.reason)


@dataclass(frozen=True)
class Trust:
    """Trust anchors (root and intermediate CA certificates) and CRLs the check relies on."""

    anchors: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = field(default_factory=tuple)


def load_trust(settings: Settings | None = None) -> Trust:
    """Return the anchors, intermediates and CRLs the settings (by default the process's, ``get_settings()``)
    configure for record signatures (an empty Trust trusts nobody)."""
    store = from_settings(settings if settings is not None else get_settings())
    return Trust(tuple(store.anchors) + tuple(store.intermediates), tuple(store.crls))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def check_provenance(
    *, data: bytes, cms_der: bytes, author_iin: str, entity_bin: str | None, trust: Trust, at: dt.datetime
) -> Evidence:
    """Verify the detached CMS over ``data`` and that its signer is the author (IIN) of the sending
    organization (BIN); return the evidence or raise SignatureRejected."""
    roots = [c for c in trust.anchors if _self_signed(c)]
    intermediates = [c for c in trust.anchors if not _self_signed(c)]
    try:
        evidence = verify_detached(
            data, cms_der, anchors=roots, crls=list(trust.crls), at=_aware(at), intermediates=intermediates
        )
        check_signer(evidence, iin=author_iin, bin_=entity_bin)
    except WrongSigner as exc:
        raise SignatureRejected(exc, mismatch=True) from None
    except SignatureError as exc:
        raise SignatureRejected(exc) from None
    return evidence
