"""A later decision replaces an attachment notice (A-54, §6.5): the earlier notice's seal reads SUPERSEDED, whether
it was issued before the later decision or only after it; the new notice and a refusal notice stay VALID."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.attachment.notice.issue import ensure_notice
from emhana.attachment.notice.signer import PendingSigner
from emhana.trust.scheme import publish
from emhana.trust.seals.verifier import Outcome
from tests.builders.attachment import IN_WINDOW, Country
from tests.builders.notices import LATER, apply

CHECK = IN_WINDOW + dt.timedelta(days=2)


def _seal(sessions: sessionmaker[Session], application_id: int, at: dt.datetime) -> str:
    with sessions.begin() as s:
        seal = ensure_notice(s, application_id=application_id, signer=PendingSigner(), now=at).seal
    assert seal is not None
    return seal


def _verdict(sessions: sessionmaker[Session], text: str) -> Outcome:
    with sessions.begin() as s:
        return publish.verify_text(s, text, now=CHECK).outcome


def test_a_notice_issued_before_the_later_decision_reads_superseded(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    pid, other = person(), person()
    first = apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    bystander = apply(sessions, citizen(other), person_id=other, district_id=country.districts[("A1", 1)])
    old, kept = _seal(sessions, first.id, IN_WINDOW), _seal(sessions, bystander.id, IN_WINDOW)
    assert _verdict(sessions, old) is Outcome.VALID
    change = apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("B1", 1)], at=LATER)
    new = _seal(sessions, change.id, LATER)
    assert _verdict(sessions, old) is Outcome.SUPERSEDED
    assert _verdict(sessions, new) is Outcome.VALID
    assert _verdict(sessions, kept) is Outcome.VALID  # another person's notice is not touched


def test_a_notice_issued_only_after_the_later_decision_reads_superseded_at_once(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    pid = person()
    first = apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    change = apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("B1", 1)], at=LATER)
    late = _seal(sessions, first.id, LATER)  # the delivery job reaches the first notice after the change
    assert _verdict(sessions, late) is Outcome.SUPERSEDED
    assert _verdict(sessions, _seal(sessions, change.id, LATER)) is Outcome.VALID
