"""Who belongs to an organization's population, and what follows a recorded representation, answered by the
layers above identity.

Identity sits below attachment, medical books and notify, so it cannot read attachments or queue messages itself
(docs/architecture.md, "When a lower layer must act on a higher one's records"). Those layers register here when
their package is imported (``emhana.models`` imports them all):

- ``register_attachment(reader)``: the organization a person is attached to (``attachment/population.py``);
- ``register_relation(reader)``: whether a person has an open case with an organization (an open application:
  ``attachment/population.py``; a personal medical book it issued: ``medbook/population.py``);
- ``on_representation(handler)``: what to do when a legal representation is recorded (notify both people:
  ``attachment/representation.py``).

Nothing registered means nobody is in any population: staff then state a purpose for every read and only the
Fund records representations (the policy fails closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.readlog import is_read_only
from emhana.identity.models import LegalRepresentation

AttachmentReader = Callable[[Session, int, dt.date], int | None]  # (session, person, day) -> entity or None
RelationReader = Callable[[Session, int, int, dt.date], bool]  # (session, entity, person, day) -> open case?
RepresentationHandler = Callable[[Session, Actor, LegalRepresentation, dt.datetime], None]

_attachment: list[AttachmentReader] = []
_relations: dict[str, RelationReader] = {}
_on_representation: dict[str, RepresentationHandler] = {}


def register_attachment(reader: AttachmentReader) -> None:
    """Register the reader of a person's current organization (the latest registration wins)."""
    _attachment[:] = [reader]


def register_relation(name: str, reader: RelationReader) -> None:
    """Register, under a name, a reader of whether a person has an open case with an organization."""
    _relations[name] = reader


def on_representation(name: str, handler: RepresentationHandler) -> None:
    """Register, under a name, what runs in the transaction that records a legal representation."""
    _on_representation[name] = handler


def attached_entity(session: Session, person_id: int, day: dt.date) -> int | None:
    """Return the organization a person is attached to on a day, or None (also when nothing is registered)."""
    return _attachment[0](session, person_id, day) if _attachment else None


def in_population(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
    """Tell whether a person belongs to an organization's population: attached to it, or with an open
    application or a medical book there.

    In a unit of work that only reads (one snapshot: the answer cannot change in it) the answer is kept for the
    transaction, so a read that asks twice (whether it may read, then whether it needs a purpose) queries once."""
    memo = _memo(session)
    key = (entity_id, person_id, day)
    if memo is not None and key in memo:
        return memo[key]
    found = attached_entity(session, person_id, day) == entity_id or any(
        reader(session, entity_id, person_id, day) for reader in _relations.values()
    )
    memo = _memo(session)  # the queries above began the transaction if none was open
    if memo is not None:
        memo[key] = found
    return found


_MEMO = "emhana.identity.population"  # session.info: (transaction, {(entity, person, day): answer})


def _memo(session: Session) -> dict[tuple[int, int, dt.date], bool] | None:
    """The population answers kept for the session's current transaction, when it only reads; else None."""
    transaction = session.get_transaction()
    if transaction is None or not is_read_only(session):
        return None
    kept = session.info.get(_MEMO)
    if kept is None or kept[0] is not transaction:
        kept = session.info[_MEMO] = (transaction, {})
    memo: dict[tuple[int, int, dt.date], bool] = kept[1]
    return memo


def representation_recorded(session: Session, actor: Actor, row: LegalRepresentation, now: dt.datetime) -> None:
    """Run every registered handler of a newly recorded representation."""
    for handler in _on_representation.values():
        handler(session, actor, row, now)
