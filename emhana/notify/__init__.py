"""Notifications: the outbox written with each attachment decision, its delivery channels (log, SMTP),
and the attachment notification e-document (A-54, A-100)."""
