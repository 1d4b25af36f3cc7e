"""Trust: facility QR seals (KZMB1), signed trust and revocation lists, the offline verifier, a demo PKI.

Follows CREDENTIALS.md §6: `KZMB1:` + base45(zlib(COSE_Sign1(CWT))), ES256 document signers certified by the
scheme CA, outcomes and check order of §6.6. Record signatures (CMS) and hash chains come later.
"""
