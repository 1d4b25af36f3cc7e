"""tests.devtools."""
