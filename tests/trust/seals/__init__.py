"""tests.trust.seals."""
