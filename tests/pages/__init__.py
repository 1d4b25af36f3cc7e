"""tests.pages."""
