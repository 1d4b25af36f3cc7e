"""The clock of the attachment routes, in one place so that tests can stand inside or outside a campaign."""

from __future__ import annotations

import datetime as dt

from emhana.attachment.calendar import KZ_TIME


def now() -> dt.datetime:
    """Return the current instant (UTC)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Return today's date in Kazakhstan."""
    return now().astimezone(KZ_TIME).date()
