"""The demo banner: the demo clock, its campaign period and where each user journey starts (who signs in,
which page, whom to look for), printed by `emhana demo` and read by the browser walk (tests/browser/test_demo_walks.py)
as a person reads it."""

from __future__ import annotations

import datetime as dt

from emhana.devtools import demo_clock, demo_people
from emhana.kernel import clock
from emhana.kernel.db import make_engine, make_sessionmaker


def journey_starts(url: str, day: dt.date) -> demo_people.Starts:
    """Return where the journeys start in a seeded demo database (demo_people.starts)."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return demo_people.starts(s, day)
    finally:
        engine.dispose()


def banner(url: str, base: str, day: dt.date) -> list[str]:
    """Return the lines of the demo banner on its clock and the journeys' starting points."""
    start = demo_clock.start_of(day)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            campaign = demo_clock.campaign_line(s, day)
            j = demo_people.starts(s, day)
    finally:
        engine.dispose()
    lines = [
        f"Demo clock: {start:%A %d.%m.%Y %H:%M} (Kazakhstan, UTC+5), running from there; "
        "another day: emhana demo --today YYYY-MM-DD",
        f"  {campaign}",
    ]
    if start < clock.SYSTEM.now() - dt.timedelta(minutes=5):
        lines.append(
            "  The demo clock is behind the machine's: signatures made now (desk, EDS sign-in) carry a signing "
            "time after it and are refused; choose a day from today on to sign."
        )
    lines += [
        "Journeys:",
        f"  1 demo-citizen, {j.citizen}: change clinic near home — {base}/attachment/clinics",
        f"    registered at {j.home}; lives at {j.actual}",
        f"  2 demo-citizen applies for the child {j.infant} by actual residence (A-23) — {base}/attachment/clinics;"
        f" the other child: {j.pupil}; demo-neighbour ({j.neighbour}) represents neither and is refused",
        f"  3 demo-registrar records the written application of pensioner {j.pensioner}, IIN {j.pensioner_iin},"
        f" with the pension certificate, then approves it from the queue — {base}/attachment/record",
        f"  4 demo-fund-admin excludes {j.excludable} and sees its people redistributed — {base}/fund/entities/"
        + (str(j.excludable_id) if j.excludable_id is not None else "(no organization to exclude on this day)"),
        f"  10 demo-fund-admin: the campaign dashboard {base}/attachment/dashboard; capitation snapshots "
        f"{base}/attachment/snapshots",
    ]
    return lines
