"""In-process events of the healthcare-entity database: the processes above subscribe, this layer never
imports them (an entity leaving the database must move its attached people, A-94, B-06)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor


@dataclass(frozen=True)
class EntityExcluded:
    """An entity was excluded from the database from a day (B-05, B-06)."""

    entity_id: int
    effective_from: dt.date


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
