"""Tests of the QR seals: COSE, CWT, base45, KZMB1, HC1 and the offline verifier."""
