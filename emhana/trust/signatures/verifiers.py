"""The verifier interface, chosen by the signer certificate's public-key algorithm OID.

RSA and ECDSA are verified in-process (``inprocess.InProcessVerifier``); GOST 34.310-2004 and
GOST R 34.10-2015 (NCA RK's GOST family, docs/credentials.md §4.1) go to a configured verifier such as the
NCANode adapter (``ncanode.NcaNodeVerifier``), because ``cryptography`` has no GOST. Both check the
signer's key usage with ``keyusage.check_key_usage``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from cryptography import x509

from emhana.kernel.errors import UnsupportedAlgorithm, VerifierUnavailable
from emhana.trust.signatures import reasons

if TYPE_CHECKING:
    from emhana.trust.signatures.cmsparse import SignedCms
    from emhana.trust.signatures.evidence import Evidence

RSA_OID = "1.2.840.113549.1.1.1"
EC_OID = "1.2.840.10045.2.1"
# NCA RK's GOST arc (34.310-2004 and 34.10-2015 keys) and the Russian GOST R 34.10 key OIDs.
GOST_PREFIXES = ("1.2.398.3.10.1.1.", "1.2.643.2.2.19", "1.2.643.2.2.20", "1.2.643.7.1.1.1.")


class SignatureVerifier(Protocol):
    """Verifies one detached CMS signature and returns its evidence, or raises a SignatureError."""

    name: str

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
        """Verify ``signed`` over ``data`` at the clock ``at``."""
        ...


def is_gost(oid: str) -> bool:
    """Tell whether a key algorithm OID is a GOST one."""
    return oid.startswith(GOST_PREFIXES)


def select(signed: SignedCms, *, gost: SignatureVerifier | None) -> SignatureVerifier:
    """Return the verifier for the signer's key algorithm; raise UnsupportedAlgorithm."""
    from emhana.trust.signatures.inprocess import InProcessVerifier  # on first use: pyhanko is slow to import

    oid = signed.key_oid
    if oid in (RSA_OID, EC_OID):
        return InProcessVerifier()
    if is_gost(oid):
        if gost is None:
            raise VerifierUnavailable(reason=reasons.NOT_CONFIGURED)
        return gost
    raise UnsupportedAlgorithm(algorithm=oid)
