"""QR seals: COSE, CWT, base45, the KZMB1 transport, issuing, the offline verifier and HC1."""
