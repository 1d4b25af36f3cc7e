"""tests.migrations."""
