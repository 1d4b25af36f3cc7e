"""The demo's clock: it stands on a day inside the campaign period (by default) and ticks with real time from the
moment it is set, so that "decided within the working day" and deadlines read as they would on that day.

``emhana demo --today YYYY-MM-DD`` sets the day; without it the demo takes today when a campaign period is open,
else a working day six weeks into the next period, 10:00 in Kazakhstan (the next year's rules carried over from the
latest campaign when the Fund has set none: the demo database gets that campaign, marked as demo only). The clock
is the kernel's (``clock.use``): every page, service and job of the demo process reads it.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment.campaign.calendar import is_working_day, next_working_day
from emhana.attachment.campaign.policy import ALL_FLAGS, create_policy
from emhana.attachment.enums import AtuLevel
from emhana.attachment.models import CampaignPolicy
from emhana.attachment.schemas import PolicyIn
from emhana.kernel import clock
from emhana.kernel.errors import RegistryError

OPENING_HOUR = dt.time(10, 0)  # the demo day begins in the middle of a working morning
INTO_PERIOD = dt.timedelta(weeks=6)  # the default day: far enough in for a history, well before the close


class Ticking:
    """A clock that starts at an instant and runs with the machine's monotonic time from then on."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock starts at a timezone-aware instant")
        self.start = start.astimezone(dt.UTC)
        self.started = time.monotonic()

    def now(self) -> dt.datetime:
        """Return the start instant plus the time that has run since (UTC)."""
        return self.start + dt.timedelta(seconds=time.monotonic() - self.started)


def period_open(row: CampaignPolicy, day: dt.date) -> bool:
    """Tell whether a campaign's period is open on a day (its last day included, A-32)."""
    return row.year_round or row.window_start <= day <= row.window_end


def default_day(session: Session, real_today: dt.date | None = None) -> dt.date:
    """Return the demo's day: today if a campaign period is open, else six weeks into the next period (the next
    year's rules carried over, ``ensure_policy``, when no later campaign is set). Never a day before today where
    it can be helped: signatures made in the demo carry the machine's signing time, which must not be after the
    clock (a CMS signing time in the future is refused)."""
    today = real_today or clock.kz_date(clock.SYSTEM.now())
    rows = list(session.scalars(select(CampaignPolicy).order_by(CampaignPolicy.year)))
    if not rows or any(period_open(r, today) for r in rows):
        return today
    upcoming = [r for r in rows if r.window_start > today]
    if upcoming:
        start, end = upcoming[0].window_start, upcoming[0].window_end
    else:
        base = rows[-1]
        year = today.year if base.window_start.replace(year=today.year) > today else today.year + 1
        start, end = base.window_start.replace(year=year), base.window_end.replace(year=year)
    day = start + INTO_PERIOD
    try:
        day = day if is_working_day(day) else next_working_day(day)
    except RegistryError:  # the calendar holds no data for that year: the latest period that has opened
        opened = [r for r in rows if r.window_start <= today] or rows[:1]
        return min(opened[-1].window_start + INTO_PERIOD, opened[-1].window_end)
    return min(day, end)


def ensure_policy(session: Session, day: dt.date, actor: Actor | None) -> CampaignPolicy | None:
    """Create the campaign of the demo day's year as the Fund would (policy.create_policy), the latest campaign's
    rules carried over, when the day lies after every campaign set; return it (None when none was needed)."""
    rows = list(session.scalars(select(CampaignPolicy).order_by(CampaignPolicy.year)))
    if actor is None or not rows or rows[-1].year >= day.year:
        return None
    base, shift = rows[-1], day.year - rows[-1].year
    data = PolicyIn(
        year=day.year,
        window_start=base.window_start.replace(year=base.window_start.year + shift),
        window_end=base.window_end.replace(year=base.window_end.year + shift),
        effective_date=base.effective_date.replace(year=base.effective_date.year + shift)
        if base.effective_date
        else None,
        max_voluntary_changes_per_year=2 if base.max_voluntary_changes_per_year >= 2 else 1,
        atu_level=AtuLevel(base.atu_level),
        source=f"DEMO ONLY: the {base.year} rules carried over to {day.year} for the demo clock; not a published order",
        **{flag: getattr(base, flag) for flag in ALL_FLAGS},
    )
    return create_policy(session=session, actor=actor, data=data, today=clock.kz_date(clock.SYSTEM.now()))


def start_of(day: dt.date, real_now: dt.datetime | None = None) -> dt.datetime:
    """Return the instant the demo clock starts at: now, when the day is the real today; else 10:00 of the day."""
    now = real_now or clock.SYSTEM.now()
    if clock.kz_date(now) == day:
        return now.astimezone(clock.KZ_TIME)
    return dt.datetime.combine(day, OPENING_HOUR, tzinfo=clock.KZ_TIME)


def campaign_line(session: Session, day: dt.date) -> str:
    """One line for the banner: the campaign period around the day and whether it is open."""
    row = session.scalar(select(CampaignPolicy).where(CampaignPolicy.year == day.year))
    if row is None:
        return f"No campaign policy for {day.year}"
    state = "open" if period_open(row, day) else "closed"
    return (
        f"Campaign {row.year}: period {row.window_start:%d.%m.%Y}-{row.window_end:%d.%m.%Y} ({state}), "
        f"changes take effect {row.effective_date:%d.%m.%Y}"
        if row.effective_date
        else f"Campaign {row.year}: period {row.window_start:%d.%m.%Y}-{row.window_end:%d.%m.%Y} ({state})"
    )
