"""emhana.pages.attachment."""
