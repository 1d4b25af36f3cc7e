"""emhana.api."""
