"""tests.trust.keys."""
