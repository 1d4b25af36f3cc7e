"""emhana.api.attachment."""
