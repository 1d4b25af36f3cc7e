"""Identity's checks of a read served on the event loop (PostgreSQL; emhana.kernel.batched): who may read a person,
whether the read needs a stated purpose, and the first step of the read-volume check, with the synchronous checks'
own statements (``service.REPRESENTS``, the population's relations of ``access``, ``service.FLAG_FOUND`` and
``service.READS_COUNTED``) and their order."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from functools import cache

from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.identity import access, service
from emhana.identity.rules import adult_born_by, stated_problem
from emhana.identity.service import _FLAGS, FLAG_FOUND, READS_COUNTED, REPRESENTS, _count_params, _is_flag
from emhana.kernel.batched import Batched, Reader, Row
from emhana.kernel.errors import PurposeRequired

Settle = Callable[[list[Row]], bool]  # how a volume check's rows settle it (``volume_check``)
REPRESENTED = Batched.of(
    "identity.represents",
    REPRESENTS,
    {"person": "bigint", "representative": "bigint", "day": "date", "born_by": "date"},
)
FLAG = Batched.of("identity.flag", FLAG_FOUND.stmt, {"event": "bigint"})
COUNTED = Batched.of(
    "identity.reads_counted",
    READS_COUNTED.stmt,
    {"account": "bigint", "start": "timestamptz", "end": "timestamptz", "first": "int"},
)


@cache
def related() -> Batched:
    """The population's relations as one statement (made on first use: every relation is registered by then)."""
    return Batched.of(
        "identity.related", access.relations_statement(), {"person": "bigint", "entity": "bigint", "day": "date"}
    )


async def may_read(reads: Reader, actor: Actor, person_id: int, day: dt.date) -> bool:
    """``service.may_read`` on the event loop."""
    if may(actor.role, Can.READ_ANY_PERSON):
        return True
    if actor.role is Role.CITIZEN and actor.person_id is not None:
        if person_id == actor.person_id:
            return True
        params = {"person": person_id, "representative": actor.person_id, "day": day, "born_by": adult_born_by(day)}
        return bool(await reads.rows(REPRESENTED, params))
    return False


async def require_purpose(
    reads: Reader, actor: Actor, person_id: int, purpose: str, day: dt.date, attached: int | None
) -> None:
    """``service.require_purpose`` on the event loop, the person's organization (``attached``: that of the open
    attachment, None without one) already read by the caller."""
    if actor.role is Role.CITIZEN:
        return
    entity = actor.entity_id
    if entity is not None and attached == entity:
        return
    if entity is not None:
        rows = await reads.rows(related(), {"person": person_id, "entity": entity, "day": day})
        if rows and rows[0][0]:
            return
    reason = stated_problem(purpose)
    if reason is not None:
        raise PurposeRequired(reason=reason)


def volume_check(reads: Reader, actor: Actor, day: dt.date) -> tuple[asyncio.Future[list[Row]] | None, Settle]:
    """Ask the first statement of ``service.flag_reads`` on the event loop, before the read's event is logged (as
    ``service.volume_later``): its future (None for a citizen, who is not counted) and how its rows settle the
    check: True when nothing more is to be done (the day's reads within the limit, or the day's flag already
    recorded), False when the caller must finish it with ``service.flag_read_volume`` in a unit of work of its
    own (once a day and account)."""
    if actor.role is Role.CITIZEN:
        return None, lambda _rows: True
    limit = service.read_flag_limit()
    seen = _FLAGS.get((actor.account_id, day))
    if seen is not None:
        return reads.ask(FLAG, {"event": seen}), lambda rows: _is_flag(rows, actor.account_id, day)
    return reads.ask(
        COUNTED, _count_params(actor.account_id, day, limit)
    ), lambda rows: not int(rows[0][0] or 0) > limit
