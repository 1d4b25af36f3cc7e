"""emhana.kernel."""
