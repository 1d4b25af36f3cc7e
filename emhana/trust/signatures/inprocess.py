"""In-process verification of RSA and ECDSA detached CMS signatures, offline from cached CRLs.

Checks, in order: message digest; signature over the signed attributes; path to an anchor with every
certificate valid at the signing time and not revoked before it (pyhanko-certvalidator, hard-fail on
missing revocation data); the signer's key usage; and, since without a trusted timestamp the signing time
is the signer's own claim, that no certificate of the path is revoked up to the verification clock and that
the signer's issuer has a cached CRL still current at that clock.

The path validation is the expensive part (pure Python): a validated path is kept in ``pathcache.PATHS``,
keyed by the signer certificate and the trust state (anchors, intermediates, CRLs, signing-time hour); every
other check, and the path's validity and revocation at this call's signing time, runs on every call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from asn1crypto import x509 as ax  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv

from emhana.kernel.errors import (
    BadSignature,
    CertificateExpired,
    CertificateRevoked,
    DigestMismatch,
    RevocationUnknown,
    SignatureMalformed,
    UnsupportedAlgorithm,
    UntrustedChain,
)
from emhana.trust.keys.certs import subject_bin, subject_iin
from emhana.trust.signatures import pathcache, reasons
from emhana.trust.signatures.cmsparse import SignedCms
from emhana.trust.signatures.evidence import CrlUsed, Evidence
from emhana.trust.signatures.keyusage import check_key_usage

SKEW = dt.timedelta(minutes=5)
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
# signature algorithm OIDs of SignerInfo: plain key OIDs (RSA, EC public key) or hash-with-key OIDs
RSA_PKCS1 = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13"}
RSA_PSS = "1.2.840.113549.1.1.10"
ECDSA = {"1.2.840.10045.2.1", "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"}


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def common_name(cert: x509.Certificate) -> str | None:
    """Return the subject's CN, or None."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def check_digest(data: bytes, signed: SignedCms) -> hashes.HashAlgorithm:
    """Compare the message digest attribute with the data's digest; return the hash algorithm."""
    algorithm = DIGESTS.get(signed.digest_oid)
    if algorithm is None:
        raise UnsupportedAlgorithm(algorithm=signed.digest_name)
    digest = hashes.Hash(algorithm())
    digest.update(data)
    if digest.finalize() != signed.message_digest:
        raise DigestMismatch()
    if signed.content is not None and signed.content != data:
        raise DigestMismatch()
    return algorithm()


def check_signature(signed: SignedCms, algorithm: hashes.HashAlgorithm) -> None:
    """Verify the signature over the DER of the signed attributes with the signer's public key."""
    key = signed.signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey) and signed.signature_oid in RSA_PKCS1:
            key.verify(signed.signature, signed.signed_attributes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, rsa.RSAPublicKey) and signed.signature_oid == RSA_PSS:
            key.verify(
                signed.signature,
                signed.signed_attributes,
                padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO),
                algorithm,
            )
        elif isinstance(key, ec.EllipticCurvePublicKey) and signed.signature_oid in ECDSA:
            key.verify(signed.signature, signed.signed_attributes, ec.ECDSA(algorithm))
        else:
            raise UnsupportedAlgorithm(algorithm=signed.signature_oid)
    except InvalidSignature:
        raise BadSignature() from None


async def validate_path(
    signed: SignedCms,
    *,
    anchors: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    intermediates: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    """Return the path signer → anchor valid at the signing time; raise the matching SignatureError."""
    if not anchors:  # never fall back to the operating system's TLS roots
        raise UntrustedChain(reason=reasons.NO_PATH)
    context = ValidationContext(
        trust_roots=[ax.Certificate.load(_der(a)) for a in anchors],
        other_certs=[*signed.certificates, *(ax.Certificate.load(_der(c)) for c in intermediates)],
        crls=[c.public_bytes(serialization.Encoding.DER) for c in crls],
        allow_fetching=False,
        revocation_mode="hard-fail",
        moment=signed.signing_time,
        retroactive_revinfo=True,
    )
    validator = CertificateValidator(signed.signer_asn1, validation_context=context)
    try:
        path = await validator.async_validate_path()
    except cv.PathBuildingError:
        raise UntrustedChain(reason=reasons.NO_PATH) from None
    except (cv.ExpiredError, cv.NotYetValidError):
        raise CertificateExpired(signed_at=signed.signing_time.isoformat()) from None
    except cv.RevokedError:
        raise CertificateRevoked(revoked_at=_revocation_date(signed, crls)) from None
    except cv.InsufficientRevinfoError:
        raise RevocationUnknown(reason=reasons.NO_CRL) from None
    except (cv.PathValidationError, cv.InvalidCertificateError):
        raise UntrustedChain(reason=reasons.INVALID_PATH) from None
    return [x509.load_der_x509_certificate(c.dump()) for c in path]


async def cached_path(
    signed: SignedCms,
    *,
    anchors: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    intermediates: Sequence[x509.Certificate],
) -> tuple[x509.Certificate, ...]:
    """Return the validated path from the cache, or validate it and keep it; then check its certificates'
    validity and revocation at this signature's signing time (a cached path was validated at another moment)."""
    if not anchors:
        raise UntrustedChain(reason=reasons.NO_PATH)
    key = pathcache.key_of(
        signer=signed.signer,
        carried=signed.certificates,
        anchors=anchors,
        intermediates=intermediates,
        crls=crls,
        signing_time=signed.signing_time,
    )
    path = pathcache.PATHS.get(key)
    if path is None:
        path = tuple(await validate_path(signed, anchors=anchors, crls=crls, intermediates=intermediates))
        pathcache.PATHS.put(key, path)
    pathcache.check_path_at(path, crls, signed.signing_time)
    return path


def _revocation_date(signed: SignedCms, crls: Sequence[x509.CertificateRevocationList]) -> str:
    """Return when the first listed certificate of the CMS was revoked (for the message)."""
    for cert in signed.certificates:
        for crl in crls:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None and crl.issuer.public_bytes() == cert.issuer.dump():
                return entry.revocation_date_utc.isoformat()
    return "-"


def _crls_of(
    issuer: x509.Certificate, crls: Sequence[x509.CertificateRevocationList]
) -> list[x509.CertificateRevocationList]:
    key = issuer.public_key()
    return [c for c in crls if c.issuer == issuer.subject and c.is_signature_valid(key)]  # type: ignore[arg-type]


def _crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None


def check_revocation_at(
    path: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList], at: dt.datetime
) -> tuple[CrlUsed, ...]:
    """Refuse a certificate of the path revoked up to ``at``; the signer's issuer must have a CRL current
    at ``at``. Return the CRLs used (path is anchor first, signer last)."""
    used: list[CrlUsed] = []
    for index in range(len(path) - 1, 0, -1):
        cert, issuer = path[index], path[index - 1]
        found = _crls_of(issuer, crls)
        current = [
            c
            for c in found
            if c.last_update_utc <= at + SKEW and (c.next_update_utc is None or at <= c.next_update_utc)
        ]
        if index == len(path) - 1 and not current:
            raise RevocationUnknown(reason=reasons.STALE_CRL if found else reasons.NO_CRL)
        for crl in current:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None and entry.revocation_date_utc <= at:
                raise CertificateRevoked(revoked_at=entry.revocation_date_utc.isoformat())
            used.append(
                CrlUsed(crl.issuer.rfc4514_string(), _crl_number(crl), crl.last_update_utc, crl.next_update_utc)
            )
    return tuple(used)


class InProcessVerifier:
    """RSA and ECDSA, verified here with cryptography and pyhanko-certvalidator."""

    name = "in-process"

    async def verify(
        self,
        data: bytes,
        signed: SignedCms,
        *,
        anchors: Sequence[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList],
        intermediates: Sequence[x509.Certificate],
        at: dt.datetime,
    ) -> Evidence:
        """Verify a detached CMS signature fully, offline; return the evidence."""
        algorithm = check_digest(data, signed)
        check_signature(signed, algorithm)
        if signed.signing_time > at + SKEW:
            raise SignatureMalformed(reason=reasons.SIGNING_TIME_FUTURE)
        path = await cached_path(signed, anchors=anchors, crls=crls, intermediates=intermediates)
        check_key_usage(signed.signer)
        used = check_revocation_at(path, crls, at)
        return Evidence(
            verifier=self.name,
            signer_certificate=_der(signed.signer),
            signer_subject=signed.signer.subject.rfc4514_string(),
            signer_common_name=common_name(signed.signer),
            signer_iin=subject_iin(signed.signer),
            signer_bin=subject_bin(signed.signer),
            signer_serial=format(signed.signer.serial_number, "x"),
            signing_time=signed.signing_time,
            verified_at=at,
            content_sha256=hashlib.sha256(data).hexdigest(),
            digest_algorithm=signed.digest_name,
            signature_algorithm=signed.signature_oid,
            chain=tuple(c.subject.rfc4514_string() for c in reversed(path)),
            crls=used,
        )
