"""In-process events of the healthcare-entity database: the processes above subscribe, this layer never
imports them (an entity leaving the database or losing its Fund contract must move its attached people, A-94,
B-06)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor

EXCLUDED = "excluded"  # excluded from the database (B-05)
CONTRACT_ENDED = "contract_ended"  # lost its Fund contract (B-06)


@dataclass(frozen=True)
class EntityExcluded:
    """An entity stops taking part from a day, its first day out (B-05, B-06): excluded from the database, or
    its Fund contract ended (``cause``). Both redistribute its attached people alike (A-94)."""

    entity_id: int
    effective_from: dt.date
    cause: str = EXCLUDED


ExclusionHandler = Callable[[Session, Actor | None, EntityExcluded], None]
_ON_EXCLUDED: list[ExclusionHandler] = []


def on_excluded(handler: ExclusionHandler) -> ExclusionHandler:
    """Subscribe ``handler`` to exclusions; it runs in the excluding transaction."""
    if handler not in _ON_EXCLUDED:
        _ON_EXCLUDED.append(handler)
    return handler


def excluded(session: Session, actor: Actor | None, event: EntityExcluded) -> None:
    """Tell every subscriber, in the caller's transaction, that an entity was excluded."""
    for handler in _ON_EXCLUDED:
        handler(session, actor, event)


def contract_ended(session: Session, actor: Actor | None, entity_id: int, last_day: dt.date) -> None:
    """Tell every subscriber that an entity's Fund contract ends on ``last_day``: from the next day it no longer
    takes part, as if excluded (B-06, A-94)."""
    excluded(session, actor, EntityExcluded(entity_id, last_day + dt.timedelta(days=1), CONTRACT_ENDED))
