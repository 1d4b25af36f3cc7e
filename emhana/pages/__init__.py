"""emhana.pages."""
