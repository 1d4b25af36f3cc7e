"""emhana.devtools.corpus."""
