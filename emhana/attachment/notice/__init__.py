"""emhana.attachment.notice."""
