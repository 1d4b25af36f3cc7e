"""Fixtures of notification tests: the attachment test country (its decisions fill the outbox), and a real SMTP
server on localhost (emhana.testing.mail)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emhana.testing import mail
from tests.attachment.conftest import country, now, person  # noqa: F401  (fixtures shared with attachment)


@pytest.fixture
def smtp_server() -> Iterator[tuple[mail.Inbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port; yields its inbox and port."""
    with mail.smtp_server() as server:
        yield server
