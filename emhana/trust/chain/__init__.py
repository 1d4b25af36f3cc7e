"""emhana.trust.chain."""
