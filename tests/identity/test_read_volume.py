"""The daily read volume of an account (docs/access-log.md, "Read volume"): counted no further than the limit,
flagged once, and once the flag is known to the process checked by that one row's key instead of counted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.identity import service
from emhana.kernel import clock

MakeActor = Callable[..., tuple[Actor, str]]
LIMIT = 3


@pytest.fixture(autouse=True)
def forget_flags() -> Iterator[None]:
    service._FLAGS.clear()
    yield
    service._FLAGS.clear()


def reads(sessions: sessionmaker[Session], actor: Actor, n: int, at: dt.datetime, action: str = "person.read") -> None:
    with sessions.begin() as s:
        for _ in range(n):
            s.add(
                AuditEvent(
                    at=at,
                    account_id=actor.account_id,
                    action=action,
                    object_type="person",
                    object_id="1",
                    purpose="care",
                )
            )


def flag(sessions: sessionmaker[Session], actor: Actor) -> bool:
    with sessions.begin() as s:
        return service.flag_read_volume(session=s, actor=actor, day=clock.today(), limit=LIMIT)


def flags(sessions: sessionmaker[Session], actor: Actor) -> list[str]:
    with sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent.purpose).where(
                    AuditEvent.action == service.FLAG_ACTION, AuditEvent.object_id == str(actor.account_id)
                )
            )
        )


def test_the_count_stops_past_the_limit_and_counts_only_the_day_and_reads(
    sessions: sessionmaker[Session], make_actor: MakeActor, now: Callable[[dt.datetime], None]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    day = clock.today()
    reads(sessions, actor, 10, clock.now() - dt.timedelta(days=2))  # another day: not counted
    reads(sessions, actor, 5, clock.now(), action="person.update")  # not reads
    reads(sessions, actor, LIMIT, clock.now())
    with sessions() as s:
        assert not service._reads_past(session=s, account_id=actor.account_id, day=day, limit=LIMIT)
    reads(sessions, actor, 1, clock.now())
    with sessions() as s:
        assert service._reads_past(session=s, account_id=actor.account_id, day=day, limit=LIMIT)
        assert service.reads_on(session=s, account_id=actor.account_id, day=day) == LIMIT + 1


def test_flagged_once_with_the_exact_count_then_known_by_its_key(
    sessions: sessionmaker[Session],
    make_actor: MakeActor,
    now: Callable[[dt.datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    reads(sessions, actor, LIMIT, clock.now())
    assert not flag(sessions, actor)
    reads(sessions, actor, 2, clock.now())
    assert flag(sessions, actor)
    assert flags(sessions, actor) == [f"{LIMIT + 2} > {LIMIT}"]
    assert not flag(sessions, actor)  # the flag is found: kept by this process
    assert (actor.account_id, clock.today()) in service._FLAGS

    def no_count(**_kw: object) -> bool:
        raise AssertionError("counted although the day's flag is known")

    monkeypatch.setattr(service, "_reads_past", no_count)
    reads(sessions, actor, 5, clock.now())
    assert not flag(sessions, actor)
    assert flags(sessions, actor) == [f"{LIMIT + 2} > {LIMIT}"]


def test_a_kept_flag_that_is_not_in_the_database_is_counted_again(
    sessions: sessionmaker[Session], make_actor: MakeActor, now: Callable[[dt.datetime], None]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    key = (actor.account_id, clock.today())
    service._FLAGS[key] = 10**12  # kept from another database (or a cleaned one): no such row here
    reads(sessions, actor, LIMIT + 1, clock.now())
    assert flag(sessions, actor)
    assert key not in service._FLAGS
    assert not flag(sessions, actor)  # found in this database, and kept with its own id now
    with sessions() as s:
        assert service._FLAGS[key] == s.scalar(select(AuditEvent.id).where(AuditEvent.action == service.FLAG_ACTION))
    assert len(flags(sessions, actor)) == 1


def test_a_new_day_is_counted_afresh(
    sessions: sessionmaker[Session], make_actor: MakeActor, now: Callable[[dt.datetime], None]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    reads(sessions, actor, LIMIT + 1, clock.now())
    assert flag(sessions, actor)
    assert not flag(sessions, actor)
    now(clock.now() + dt.timedelta(days=1))
    assert not flag(sessions, actor)  # nothing read yet that day
    reads(sessions, actor, LIMIT + 1, clock.now())
    assert flag(sessions, actor)
    with sessions() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == service.FLAG_ACTION)) == 2
