"""The trust configuration of record signatures: anchors, cached CRLs, extra intermediates, a GOST verifier.

Configured once from ``Settings`` (``from_settings``), whose fields keep the environment names:

- ``signature_anchors`` (``EMHANA_SIGNATURE_ANCHORS``): PEM files (separated by ``os.pathsep``) of the trusted
  root CAs (NCA RK's RSA and GOST roots in production; ``root-ca.pem`` of ``emhana pki demo`` in the demo);
- ``signature_crls`` (``EMHANA_SIGNATURE_CRLS``): files or folders (``*.crl``, DER or PEM) of cached CRLs,
  refreshed by a job; verification never fetches (docs/credentials.md §4.3, offline from cached CRLs);
- ``signature_intermediates`` (``EMHANA_SIGNATURE_INTERMEDIATES``): optional PEM files of intermediate CAs
  that CMS files may omit;
- ``ncanode_url`` (``EMHANA_NCANODE_URL``): the NCANode sidecar that verifies GOST signatures (e.g.
  http://127.0.0.1:14579), wired here behind the ``verifiers.SignatureVerifier`` interface.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from emhana.kernel.config import Settings
from emhana.kernel.errors import CertificateInvalid
from emhana.trust.signatures.verifiers import SignatureVerifier

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class TrustStore:
    """What record signatures are verified against."""

    anchors: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    gost: SignatureVerifier | None = None


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Return every certificate of PEM data (one or more blocks) or of one DER certificate."""
    try:
        blocks = _PEM_CERT.findall(data)
        if blocks:
            return [x509.load_pem_x509_certificate(b) for b in blocks]
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise CertificateInvalid(reason="not a PEM or DER certificate") from exc


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """Return a CRL from DER or PEM."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise CertificateInvalid(reason="not a PEM or DER CRL") from exc


def _files(paths: Iterable[Path], pattern: str) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob(pattern)) if path.is_dir() else [path])
    return out


def from_paths(
    anchors: Sequence[Path],
    crls: Sequence[Path] = (),
    intermediates: Sequence[Path] = (),
    *,
    gost: SignatureVerifier | None = None,
) -> TrustStore:
    """Return a trust store read from files (folders of CRLs are read as ``*.crl``)."""
    return TrustStore(
        anchors=tuple(c for p in anchors for c in load_certificates(p.read_bytes())),
        crls=tuple(load_crl(p.read_bytes()) for p in _files(crls, "*.crl")),
        intermediates=tuple(c for p in intermediates for c in load_certificates(p.read_bytes())),
        gost=gost,
    )


def from_demo_folder(folder: Path) -> TrustStore:
    """Return the trust store of a folder written by ``emhana pki demo`` (its root, intermediate and CRL)."""
    return from_paths([folder / "root-ca.pem"], [folder / "intermediate-ca.crl"], [folder / "intermediate-ca.pem"])


def _split(value: str) -> list[Path]:
    return [Path(p) for p in value.split(os.pathsep) if p]


def from_settings(settings: Settings) -> TrustStore:
    """Return the trust store configured by the settings (the EMHANA_SIGNATURE_* and EMHANA_NCANODE_URL
    variables); a GOST verifier only when an NCANode URL is set."""
    from emhana.trust.signatures.ncanode import NcaNodeVerifier

    return from_paths(
        _split(settings.signature_anchors),
        _split(settings.signature_crls),
        _split(settings.signature_intermediates),
        gost=NcaNodeVerifier(settings.ncanode_url) if settings.ncanode_url else None,
    )
