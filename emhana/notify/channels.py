"""Delivery channels behind one interface: the log (structured, never an IIN) and SMTP e-mail.

A channel sends one rendered message or raises; the delivery service records the outcome. More
channels (SMS, the eGov personal account of A-100) plug in with the same ``send``.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

logger = logging.getLogger("emhana.notify")


@dataclass(frozen=True)
class Enclosure:
    """A file sent with a message (for example the attachment notice as PDF, emhana.attachment.notice)."""

    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Message:
    """One rendered message to one recipient; ``message_id`` is stable across retries (receivers may dedupe)."""

    notification_id: int
    recipient_kind: str
    recipient_id: int
    address: str | None
    language: str
    template: str
    subject: str
    body: str
    message_id: str
    enclosures: tuple[Enclosure, ...] = field(default=())


class Channel(Protocol):
    """Something that delivers a message or raises an exception saying why it could not."""

    def send(self, message: Message) -> None:
        """Deliver the message; raise on failure."""
        ...


class LogChannel:
    """Write a structured line per message: who (registry ids only), what template, which language.

    It never logs the body or the address: bodies may name the person; an IIN is never logged.
    """

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.log = log or logger

    def send(self, message: Message) -> None:
        """Log the message's envelope."""
        self.log.info(
            "notification %s to %s %s: %s (%s)",
            message.notification_id,
            message.recipient_kind,
            message.recipient_id,
            message.template,
            message.language,
            extra={
                "notification_id": message.notification_id,
                "recipient_kind": message.recipient_kind,
                "recipient_id": message.recipient_id,
                "template": message.template,
                "language": message.language,
                "enclosures": len(message.enclosures),
            },
        )


class SmtpChannel:
    """Send e-mail through an SMTP relay (smtplib); the connection is opened and closed per batch call."""

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def compose(self, message: Message) -> EmailMessage:
        """Return the e-mail of a message, with its enclosures."""
        if not message.address:
            raise ValueError("the recipient has no e-mail address")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message.message_id
        mail["Content-Language"] = message.language
        mail.set_content(message.body)
        for enc in message.enclosures:
            main, _, sub = enc.content_type.partition("/")
            mail.add_attachment(enc.content, maintype=main, subtype=sub, filename=enc.file_name)
        return mail

    def send(self, message: Message) -> None:
        """Send one e-mail; raise OSError or smtplib.SMTPException when the relay refuses or is unreachable."""
        mail = self.compose(message)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(mail)


def message_id(dedupe_key: str, domain: str = "emhana.invalid") -> str:
    """Return a Message-ID derived from the outbox key, the same on every retry."""
    safe = "".join(c if c.isalnum() or c in ".-" else "." for c in dedupe_key)
    return f"<{safe}@{domain}>" if safe else make_msgid(domain=domain)
