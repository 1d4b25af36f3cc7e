"""A demo PKI shaped like NCA RK's (§4.1) plus the seal scheme's CA and facility DSCs (§6.1); demo use only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from emhana.trust.keys.certs import (
    OID_EMAIL_PROTECTION,
    OID_NCA_EMPLOYEE,
    OID_NCA_FIRST_HEAD,
    OID_NCA_LEGAL_ENTITY,
    RECORD_TYPE_OIDS,
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
CRL_URL = "http://crl.emhana.invalid/demo-intermediate.crl"  # .invalid: never resolvable (RFC 2606)


@dataclass(frozen=True)
class Issued:
    """A private key with its certificate."""

    key: PrivateKey
    certificate: x509.Certificate

    def pem(self) -> bytes:
        """Return the certificate as PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def new_key(algorithm: str) -> PrivateKey:
    """Return a fresh key: "rsa" (2048, as NCA RK's RSA family) or "ec" (P-256)."""
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key algorithm {algorithm!r}")


def name(**parts: str) -> x509.Name:
    """Return an X.509 name from keyword parts (cn, sn, gn, serial, o, ou, c), in NCA RK's order."""
    oids = {
        "cn": NameOID.COMMON_NAME,
        "sn": NameOID.SURNAME,
        "serial": NameOID.SERIAL_NUMBER,
        "c": NameOID.COUNTRY_NAME,
        "o": NameOID.ORGANIZATION_NAME,
        "ou": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "gn": NameOID.GIVEN_NAME,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts.items()])


def _ku(*, sign: bool = False, commit: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=commit,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue_certificate(
    subject: x509.Name,
    key: PrivateKey,
    *,
    issuer: Issued | None,
    not_before: dt.datetime,
    days: int,
    ca_path_length: int | None = None,
    key_usage: x509.KeyUsage,
    eku: Sequence[x509.ObjectIdentifier] = (),
    crl_url: str | None = None,
) -> Issued:
    """Return a certificate signed by issuer (self-signed when None) with proper CA, key-usage and id extensions."""
    is_ca = ca_path_length is not None
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=ca_path_length if is_ca else None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return Issued(key, builder.sign(signer_key, hashes.SHA256()))


def make_root(*, not_before: dt.datetime, algorithm: str = "rsa") -> Issued:
    """Return the demo root CA (stands in for NCA RK's root, КУЦ)."""
    return issue_certificate(
        name(cn="emhana DEMO Root CA (not NCA RK)", o="emhana demo", c="KZ"),
        new_key(algorithm),
        issuer=None,
        not_before=not_before,
        days=3650,
        ca_path_length=1,
        key_usage=_ku(ca=True),
    )


def make_intermediate(root: Issued, *, not_before: dt.datetime, algorithm: str = "rsa") -> Issued:
    """Return the demo intermediate CA that issues people's certificates and the CRL (stands in for NCA RK)."""
    return issue_certificate(
        name(cn="emhana DEMO Intermediate CA (not NCA RK)", o="emhana demo", c="KZ"),
        new_key(algorithm),
        issuer=root,
        not_before=not_before,
        days=1825,
        ca_path_length=0,
        key_usage=_ku(ca=True),
    )


def make_clinician(
    ca: Issued,
    *,
    surname: str,
    given_name: str,
    iin: str,
    organization: str,
    bin_: str,
    not_before: dt.datetime,
    algorithm: str = "rsa",
) -> Issued:
    """Return an employee SIGN certificate: SERIALNUMBER=IIN…, O and OU=BIN… of the employer (§4.1)."""
    subject = name(
        cn=f"{surname} {given_name}",
        sn=surname,
        serial=f"IIN{iin}",
        c="KZ",
        o=organization,
        ou=f"BIN{bin_}",
        gn=given_name,
    )
    return issue_certificate(
        subject,
        new_key(algorithm),
        issuer=ca,
        not_before=not_before,
        days=365,
        key_usage=_ku(sign=True, commit=True),
        eku=(OID_EMAIL_PROTECTION, OID_NCA_LEGAL_ENTITY, OID_NCA_EMPLOYEE),
        crl_url=CRL_URL,
    )


def make_organization(
    ca: Issued,
    *,
    organization: str,
    bin_: str,
    head_surname: str,
    head_given_name: str,
    head_iin: str,
    not_before: dt.datetime,
    algorithm: str = "rsa",
) -> Issued:
    """Return a legal entity's SIGN certificate held by its first head: OU=BIN…, O, head's SERIALNUMBER=IIN…."""
    subject = name(
        cn=f"{head_surname} {head_given_name}",
        sn=head_surname,
        serial=f"IIN{head_iin}",
        c="KZ",
        o=organization,
        ou=f"BIN{bin_}",
        gn=head_given_name,
    )
    return issue_certificate(
        subject,
        new_key(algorithm),
        issuer=ca,
        not_before=not_before,
        days=365,
        key_usage=_ku(sign=True, commit=True),
        eku=(OID_EMAIL_PROTECTION, OID_NCA_LEGAL_ENTITY, OID_NCA_FIRST_HEAD),
        crl_url=CRL_URL,
    )


def make_scheme_ca(*, not_before: dt.datetime, days: int = 3650) -> Issued:
    """Return the seal scheme's CA (the CSCA of §6.1): ES256, issues DSCs and signs the lists."""
    return issue_certificate(
        name(cn="emhana DEMO Seal Scheme CA", o="emhana demo", c="KZ"),
        new_key("ec"),
        issuer=None,
        not_before=not_before,
        days=days,
        ca_path_length=0,
        key_usage=_ku(ca=True),
    )


def make_dsc(
    scheme_ca: Issued,
    *,
    facility_name: str,
    bin_: str,
    not_before: dt.datetime,
    days: int = 365,
    record_types: Sequence[str] = tuple(RECORD_TYPE_OIDS),
    number: int = 1,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> Issued:
    """Return a facility document-signer certificate (ES256), rotated at most yearly (§6.1), EKU per record type."""
    subject = name(cn=f"Seal signer {number}", o=facility_name, ou=f"BIN{bin_}", c="KZ")
    return issue_certificate(
        subject,
        key or new_key("ec"),
        issuer=scheme_ca,
        not_before=not_before,
        days=days,
        key_usage=_ku(sign=True),
        eku=[RECORD_TYPE_OIDS[t] for t in record_types],
    )


def make_crl(
    ca: Issued,
    revoked: Sequence[tuple[x509.Certificate, dt.datetime]],
    *,
    this_update: dt.datetime,
    next_update: dt.datetime,
    number: int,
) -> x509.CertificateRevocationList:
    """Return a CRL of the CA listing these certificates as revoked (key compromise) at these times."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    for cert, when in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca.key, hashes.SHA256())


def to_pkcs12(friendly_name: str, issued: Issued, chain: Sequence[x509.Certificate], password: str) -> bytes:
    """Return a password-protected PKCS#12 file of a key, its certificate and its chain."""
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode("utf-8"),
        issued.key,
        issued.certificate,
        list(chain),
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    )


def is_ca_usage(cert: x509.Certificate) -> bool:
    """Tell whether a certificate is a CA allowed to sign certificates (basic constraints and key usage)."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bc.ca and ku.key_cert_sign
