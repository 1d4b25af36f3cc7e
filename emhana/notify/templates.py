"""The message templates of the outbox: the layers above register how each template is rendered, and what it encloses.

Notify knows no process. A process that queues messages (the attachment campaign, the medical book) registers,
for each template it uses, a renderer of the subject and body in a language and, when the message carries a
document (the attachment notice of A-54), an enclosure provider; the delivery job asks this registry.
Registration happens when the process's package is imported (``emhana.models`` imports every one of them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from emhana.notify.channels import Enclosure


class Renderer(Protocol):
    """Returns the subject and body of a template's message in a language (kk or ru)."""

    def __call__(self, template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
        """Return (subject, body)."""
        ...


class EnclosureProvider(Protocol):
    """Returns the document a message encloses (for example the attachment notice as PDF), or None.

    ``signer`` is what the delivery run was given to sign documents with; the provider knows its type."""

    def __call__(
        self, session: Session, params: Mapping[str, Any], *, signer: object, now: dt.datetime
    ) -> Enclosure | None:
        """Return the enclosure of one message, issuing its document on first need."""
        ...


@dataclass(frozen=True)
class Registered:
    """How one template is rendered, and what its message encloses."""

    render: Renderer
    enclose: EnclosureProvider | None = None


_templates: dict[str, Registered] = {}


class UnknownTemplate(LookupError):
    """No process registered the template of a message (its package was not imported)."""


def register(template: str, render: Renderer, *, enclose: EnclosureProvider | None = None) -> None:
    """Register how a template is rendered and, optionally, what its message encloses (the latest wins)."""
    _templates[template] = Registered(render, enclose)


def registered(template: str) -> Registered:
    """Return what is registered for a template; raise UnknownTemplate when nothing is."""
    try:
        return _templates[template]
    except KeyError:
        raise UnknownTemplate(f"no renderer is registered for template {template!r}") from None


def render(template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
    """Return the subject and body of a message in a language, by its registered renderer."""
    return registered(template).render(template, language, params)


def enclosures(
    session: Session, template: str, params: Mapping[str, Any], *, signer: object, now: dt.datetime
) -> tuple[Enclosure, ...]:
    """Return the documents a message of a template encloses (none when it registered no provider)."""
    enclose = registered(template).enclose
    found = enclose(session, params, signer=signer, now=now) if enclose is not None else None
    return (found,) if found is not None else ()
