"""emhana.trust.lists."""
