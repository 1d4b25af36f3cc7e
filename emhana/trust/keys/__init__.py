"""emhana.trust.keys.wrap."""
