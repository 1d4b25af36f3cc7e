"""Which certificates may sign records: NCA RK's SIGN key, never the AUTH key (docs/credentials.md §4.1)."""

from __future__ import annotations

from cryptography import x509

from emhana.kernel.errors import KeyUsageRefused
from emhana.trust.signatures import reasons

SIGN_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.4")  # NCA RK SIGN key (§4.1)
ANY_EKU = x509.ObjectIdentifier("2.5.29.37.0")


def check_key_usage(cert: x509.Certificate) -> None:
    """Admit only a signing certificate: key usage digitalSignature or nonRepudiation, and an EKU (when
    present) of the SIGN key (1.3.6.1.5.5.7.3.4), not the AUTH key's clientAuth (§4.1)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise KeyUsageRefused(reason=reasons.NO_SIGNING_USAGE) from None
    if not (usage.digital_signature or usage.content_commitment):
        raise KeyUsageRefused(reason=reasons.NO_SIGNING_USAGE)
    try:
        purposes = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return
    if not purposes & {SIGN_EKU, ANY_EKU}:
        raise KeyUsageRefused(reason=reasons.AUTH_KEY)
