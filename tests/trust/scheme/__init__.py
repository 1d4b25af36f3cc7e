"""tests.trust.scheme."""
