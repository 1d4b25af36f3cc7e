"""Certificate helpers shared by seals, lists and the demo PKI: loading, IIN/BIN in subjects, usage OIDs."""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from emhana.kernel.errors import CertificateInvalid

# docs/credentials.md §4.1: NCA RK subject-type OIDs placed in EKU, and the SIGN / AUTH key purposes.
OID_NCA_INDIVIDUAL = x509.ObjectIdentifier("1.2.398.3.3.4.1.1")
OID_NCA_LEGAL_ENTITY = x509.ObjectIdentifier("1.2.398.3.3.4.1.2")
OID_NCA_FIRST_HEAD = x509.ObjectIdentifier("1.2.398.3.3.4.1.2.1")
OID_NCA_EMPLOYEE = x509.ObjectIdentifier("1.2.398.3.3.4.1.2.5")
OID_EMAIL_PROTECTION = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.4")  # the SIGN key's EKU
OID_CLIENT_AUTH = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.2")  # the AUTH key's EKU

# The seal scheme's own arc: a UUID OID (ITU-T X.667, 2.25.<uuid as integer>) needs no registration.
# DSCs carry one EKU per record type they may sign, as the DCC does with 1.3.6.1.4.1.1847.2021.1.x (§1.5).
SCHEME_ARC = "2.25.235354503626511155887884540853511846691"
OID_SEAL_CLEARANCE = x509.ObjectIdentifier(SCHEME_ARC + ".1.1")
OID_SEAL_ATTACHMENT = x509.ObjectIdentifier(SCHEME_ARC + ".1.2")
RECORD_TYPE_OIDS = {"medbook.clearance": OID_SEAL_CLEARANCE, "attachment.notification": OID_SEAL_ATTACHMENT}

_IIN = re.compile(r"IIN(\d{12})")
_BIN = re.compile(r"BIN(\d{12})")
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----")


def load_certificate(data: bytes) -> x509.Certificate:
    """Load one certificate from PEM, DER or base64 DER; raise CertificateInvalid."""
    try:
        if _PEM.search(data):
            return x509.load_pem_x509_certificate(data)
        if data[:1] == b"\x30":
            return x509.load_der_x509_certificate(data)
        return x509.load_der_x509_certificate(base64.b64decode(b"".join(data.split()), validate=True))
    except (ValueError, binascii.Error) as exc:
        raise CertificateInvalid(reason="not a PEM, DER or base64 DER certificate") from exc


def load_pkcs12(
    data: bytes, password: str
) -> tuple[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, x509.Certificate, list[x509.Certificate]]:
    """Return the key, certificate and chain of a password-protected PKCS#12 file; raise CertificateInvalid."""
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, password.encode("utf-8"))
    except ValueError as exc:
        raise CertificateInvalid(reason="wrong password or not a PKCS#12 file") from exc
    if cert is None or not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertificateInvalid(reason="the PKCS#12 file holds no RSA or EC key with its certificate")
    return key, cert, list(chain)


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    value = values[0].value if values else None
    return value if isinstance(value, str) else None


def subject_iin(cert: x509.Certificate) -> str | None:
    """Return the IIN of a person certificate (subject SERIALNUMBER=IIN<12 digits>, §4.1), or None."""
    match = _IIN.fullmatch(_attribute(cert.subject, NameOID.SERIAL_NUMBER) or "")
    return match.group(1) if match else None


def subject_bin(cert: x509.Certificate) -> str | None:
    """Return the BIN of an organization certificate (subject OU=BIN<12 digits>, §4.1), or None."""
    match = _BIN.fullmatch(_attribute(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) or "")
    return match.group(1) if match else None


def subject_organization(cert: x509.Certificate) -> str | None:
    """Return the subject's O (organization name), or None."""
    return _attribute(cert.subject, NameOID.ORGANIZATION_NAME)


def extended_key_usages(cert: x509.Certificate) -> frozenset[x509.ObjectIdentifier] | None:
    """Return the EKU OIDs of a certificate, or None when it has no EKU extension (then any use is allowed)."""
    try:
        return frozenset(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None
