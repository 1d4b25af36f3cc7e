"""emhana.trust.seals.issue."""
