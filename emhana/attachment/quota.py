"""The year's quota of voluntary changes (A-41), shown before it is used: how many a person has used and may
still use, and whether a new change would replace an approved change that has not yet taken effect (a second
change in the campaign replaces the first, from 1 January, and uses the quota again: nothing is silent).

``quota_of`` is the pure rule over a person's attachment history; ``change_quota`` reads the history and the
year's policy for it (the citizen's apply page shows it before the application is filed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from emhana.attachment import facts
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import Cause
from emhana.attachment.facts import Period
from emhana.attachment.rules import Policy, window_open


@dataclass(frozen=True)
class PendingChange:
    """An approved change not yet in effect: the attachment a new change would replace."""

    attachment_id: int
    entity_id: int
    district_id: int
    begin_date: dt.date
    decided_on: dt.date


@dataclass(frozen=True)
class ChangeQuota:
    """A person's voluntary changes in a year against the policy's limit (A-41)."""

    year: int
    limit: int
    used: int
    pending: PendingChange | None  # a new change would replace it (and it stays counted as used)
    window_open: bool  # the campaign period is open on the day asked

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    @property
    def would_replace(self) -> bool:
        """A new voluntary change would replace the pending one (which is not given back to the quota)."""
        return self.pending is not None and not self.exhausted


def quota_of(history: Iterable[Period], *, policy: Policy, year: int, today: dt.date) -> ChangeQuota:
    """Return the quota of a year from a person's attachments (A-41): voluntary changes are counted by the year
    they were decided in, a replaced one included; the pending change is the voluntary change from a later day
    that is still open (A-05: from 1 January)."""
    rows = list(history)
    used = sum(1 for a in rows if a.cause == Cause.VOLUNTARY_CHANGE.value and a.decided_on.year == year)
    pending = next(
        (
            PendingChange(a.id, a.entity_id, a.district_id, a.begin_date, a.decided_on)
            for a in rows
            if a.end_date is None and a.begin_date > today and a.cause == Cause.VOLUNTARY_CHANGE.value
        ),
        None,
    )
    return ChangeQuota(
        year=year,
        limit=policy.max_voluntary_changes_per_year,
        used=used,
        pending=pending,
        window_open=window_open(policy, today),
    )


def change_quota(*, session: Session, person_id: int, year: int, today: dt.date) -> ChangeQuota:
    """Return a person's change quota of a year under that year's policy (A-41). A read for a page that has
    already checked that its reader may see the person; it writes nothing."""
    history = facts.periods(session.connection(), person_id, today)
    day = today if today.year == year else dt.date(year, 12, 31)
    return quota_of(history, policy=policy_for(session, day), year=year, today=today)
