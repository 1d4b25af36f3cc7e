"""tests.trust.lists."""
