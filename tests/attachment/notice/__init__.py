"""tests.attachment.notice."""
