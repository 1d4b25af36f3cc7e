"""Whose signature it is: the certificate's IIN must be the author's and its BIN the organization's.

NCA RK puts the holder's IIN in the subject as SERIALNUMBER=IIN<12 digits> and, for an employee or a
legal entity, the organization's BIN as OU=BIN<12 digits> (docs/credentials.md §4.1). A record is signed by its
author (C-06, C-40: the clinician, or the corrector) on behalf of the organization that keeps the book; an
attachment notice by the deciding PHC organization (A-54).
"""

from __future__ import annotations

from emhana.kernel.errors import WrongSigner
from emhana.trust.signatures import reasons
from emhana.trust.signatures.evidence import Evidence


def check_signer(evidence: Evidence, *, iin: str | None, bin_: str | None) -> None:
    """Refuse unless the signer's IIN equals ``iin`` and its BIN equals ``bin_``.

    Pass ``iin=None`` (or ``bin_=None``) only where that side is deliberately not bound; the author of a
    record always has ``iin`` given, and an unknown author IIN is refused by the caller.
    """
    if iin is not None:
        if evidence.signer_iin is None:
            raise WrongSigner(reason=reasons.NO_IIN)
        if evidence.signer_iin != iin:
            raise WrongSigner(reason=reasons.IIN_NOT_AUTHOR)
    if bin_ is not None:
        if evidence.signer_bin is None:
            raise WrongSigner(reason=reasons.NO_BIN)
        if evidence.signer_bin != bin_:
            raise WrongSigner(reason=reasons.BIN_NOT_ORGANIZATION)
