"""Fixtures of notification tests: a real SMTP server on localhost (emhana.testing.mail); the attachment test
country, whose decisions fill the outbox, comes from tests/builders/fixtures.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emhana.testing import mail


@pytest.fixture
def smtp_server() -> Iterator[tuple[mail.Inbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port; yields its inbox and port."""
    with mail.smtp_server() as server:
        yield server
