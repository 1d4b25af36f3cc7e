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

A reader that has just read a person's attachment history in a read-only unit of work tells identity the
person's organization (``attachment_known``: ``attachment/population.py``, ``known_from``), so that the population
check of the same read asks no query of its own.

Nothing registered means nobody is in any population: staff then state a purpose for every read and only the
Fund records representations (the policy fails closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.readlog import is_read_only
from emhana.identity.models import LegalRepresentation

AttachmentReader = Callable[[Session, int, dt.date], int | None]  # (session, person, day) -> entity or None
RelationReader = Callable[[Session, int, int, dt.date], bool]  # (session, entity, person, day) -> open case?
RepresentationHandler = Callable[[Session, Actor, LegalRepresentation, dt.datetime], None]

_attachment: list[AttachmentReader] = []
_relations: dict[str, RelationReader] = {}
_relation_statements: dict[str, Select[Any]] = {}
_on_representation: dict[str, RepresentationHandler] = {}


def register_attachment(reader: AttachmentReader) -> None:
    """Register the reader of a person's current organization (the latest registration wins)."""
    _attachment[:] = [reader]


def register_relation(name: str, reader: RelationReader, statement: Select[Any] | None = None) -> None:
    """Register, under a name, a reader of whether a person has an open case with an organization, and the
    statement it runs: a row when so, its one column never null (a key), its bound parameters named ``person``,
    ``entity`` and ``day`` (the reads
    served on the event loop ask all of them at once: ``relations_statement``)."""
    _relations[name] = reader
    if statement is not None:
        _relation_statements[name] = statement
    else:
        _relation_statements.pop(name, None)


def relations_statement() -> Select[Any]:
    """One statement telling whether a person has any registered open case with an organization (a row with one
    boolean), for the reads that ask it in SQL (``emhana.kernel.batched``); raises if a relation registered no
    statement (the answer would be incomplete)."""
    missing = sorted(set(_relations) - set(_relation_statements))
    if missing:
        raise RuntimeError(f"relations without a statement: {missing}")
    # Each case as "its first row's key is not null", not EXISTS: an EXISTS under OR may be run as a hashed subplan,
    # which reads the whole table once per statement (every medical book, for a batch of four persons); a scalar
    # subquery is only ever probed through its index, row by row, and OR stops at the first case found.
    cases = [_relation_statements[n].limit(1).scalar_subquery().is_not(None) for n in sorted(_relation_statements)]
    return select(or_(false(), *cases).label("related"))


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
    transaction, so a read that asks twice (whether it may read, then whether it needs a purpose) queries once;
    and the person's organization is not asked for when the caller has already read it in that transaction
    (``attachment_known``)."""
    kept = _kept(session)
    key = (entity_id, person_id, day)
    if kept is not None and key in kept.answers:
        return kept.answers[key]
    known = kept.attached.get((person_id, day), _UNKNOWN) if kept is not None else _UNKNOWN
    attached = attached_entity(session, person_id, day) if known is _UNKNOWN else known
    found = attached == entity_id or any(reader(session, entity_id, person_id, day) for reader in _relations.values())
    kept = _kept(session)  # the queries above began the transaction if none was open
    if kept is not None:
        kept.answers[key] = found
    return found


def attachment_known(session: Session, person_id: int, day: dt.date, entity_id: int | None) -> None:
    """Keep the organization a person is attached to on a day (None: none), as the caller has just read it in
    the session's transaction, so that ``in_population`` does not ask for it again in that transaction. Kept only
    in a unit of work that only reads (one snapshot: what was read stays true in it); elsewhere nothing is kept."""
    kept = _kept(session)
    if kept is not None:
        kept.attached[(person_id, day)] = entity_id


_MEMO = "emhana.identity.population"  # session.info: the answers kept for the session's current transaction
_UNKNOWN = object()


class _Kept:
    """What a read-only transaction has learnt of populations: the answers given, and the organizations of the
    persons whose attachment the caller read itself."""

    __slots__ = ("answers", "attached", "transaction")

    def __init__(self, transaction: object) -> None:
        self.transaction = transaction
        self.answers: dict[tuple[int, int, dt.date], bool] = {}
        self.attached: dict[tuple[int, dt.date], int | None] = {}


def _kept(session: Session) -> _Kept | None:
    """What is kept for the session's current transaction, when it only reads; else None."""
    transaction = session.get_transaction()
    if transaction is None or not is_read_only(session):
        return None
    kept: _Kept | None = session.info.get(_MEMO)
    if kept is None or kept.transaction is not transaction:
        kept = session.info[_MEMO] = _Kept(transaction)
    return kept


def representation_recorded(session: Session, actor: Actor, row: LegalRepresentation, now: dt.datetime) -> None:
    """Run every registered handler of a newly recorded representation."""
    for handler in _on_representation.values():
        handler(session, actor, row, now)
