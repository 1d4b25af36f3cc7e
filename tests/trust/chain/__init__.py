"""tests.trust.chain."""
