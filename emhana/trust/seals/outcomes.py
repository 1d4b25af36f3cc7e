"""What each verifier outcome means to the person holding the paper (§6.6), in words for kk/ru/en pages."""

from __future__ import annotations

from emhana.kernel.i18n import N_
from emhana.trust.seals.verifier import Outcome

TITLES = {
    Outcome.VALID: N_("Valid"),
    Outcome.MALFORMED: N_("Not a readable seal"),
    Outcome.UNKNOWN_ISSUER: N_("Unknown issuer"),
    Outcome.TAMPERED: N_("Altered or forged"),
    Outcome.ISSUER_NOT_AUTHORISED: N_("Issuer not authorised"),
    Outcome.NOT_YET_VALID: N_("Not yet valid"),
    Outcome.EXPIRED: N_("Expired"),
    Outcome.REVOKED: N_("Revoked"),
    Outcome.SUSPENDED: N_("Clearance suspended"),
    Outcome.SUPERSEDED: N_("Replaced by a newer version"),
}

MEANINGS = {
    Outcome.VALID: N_(
        "The seal was signed by the facility named below, has not been changed, and is in force. "
        "Check that the name and birth date match the holder's identity document."
    ),
    Outcome.MALFORMED: N_(
        "The text or picture is not a medical seal of emhana, or it is damaged or incomplete. Scan the code again."
    ),
    Outcome.UNKNOWN_ISSUER: N_(
        "The seal was signed by a key that is not in the trust list, or whose key was withdrawn. Do not accept it."
    ),
    Outcome.TAMPERED: N_(
        "The signature does not match the content: the seal was changed after signing or is forged. Do not accept it."
    ),
    Outcome.ISSUER_NOT_AUTHORISED: N_(
        "The signer is not allowed to issue this kind of document for this organization. Do not accept it."
    ),
    Outcome.NOT_YET_VALID: N_(
        "The seal is dated in the future or before its signer's key was valid. Do not accept it."
    ),
    Outcome.EXPIRED: N_("The seal was genuine but its validity has ended: a new examination or document is needed."),
    Outcome.REVOKED: N_("The issuing facility has revoked this seal. Do not accept it."),
    Outcome.SUSPENDED: N_(
        "The holder's clearance for work was suspended after this seal was issued: the holder may not do this "
        "work until a new examination with negative control tests and a new clearance. Do not accept it."
    ),
    Outcome.SUPERSEDED: N_(
        "The facility issued a corrected version of this document; ask the holder for the current one."
    ),
}
