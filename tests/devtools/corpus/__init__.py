"""tests.devtools.corpus."""
