"""Fakes of the notify channels for tests: a real SMTP server on localhost (aiosmtpd) and a channel that keeps
what it is given.

aiosmtpd is a development dependency: only tests import this module.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from emhana.notify.channels import Message


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An SMTP handler that keeps every e-mail it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """Keep the e-mail and accept it."""
        content = envelope.original_content or b""
        self.messages.append(message_from_bytes(content, policy=default))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """Run a real SMTP server on 127.0.0.1 and a free port; yield its inbox and port, then stop it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class Mailbox:
    """A channel that keeps every message it is given (in place of e-mail), rendered but not sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, message: Message) -> None:
        """Keep the message."""
        self.messages.append(message)
