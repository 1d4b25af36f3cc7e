"""A book read on the event loop (PostgreSQL): ``views.read_book_out``'s statements batched with other requests'
(``emhana.kernel.batched``), its checks (``views.checked_read``) and its answer (``views.book_out_of``) shared.

The three statements (the book with what its view shows beside it, its entries, its jobs) are the synchronous
read's own and run at once, each in a batch of its own: three snapshots a moment apart where the synchronous read
has one (an entry recorded in between may show in the entries and not yet in the head's open examination, or the
reverse: what one read a moment later would show in full).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from emhana.accounts.service import Actor
from emhana.kernel.batched import Batched, Reader, each
from emhana.medbook import views
from emhana.medbook.service import local_day
from emhana.medbook.views import BookRow, EntryRow, Head, JobRow, Loaded

_BOOK = {"book": "bigint"}
HEAD = Batched.of(
    "medbook.head", views._HEAD.stmt, {"book": "bigint", "day": "date", "today": "date", "reader": "bigint"}
)
ENTRIES = Batched.of("medbook.entries", views._ENTRIES.stmt, _BOOK)
JOBS = Batched.of("medbook.jobs", views._JOBS.stmt, _BOOK)


async def load(reads: Reader, book_id: int, *, day: dt.date, today: dt.date, reader: int | None) -> Loaded | None:
    """``views._load`` on the event loop."""
    params = {"book": book_id, "day": day, "today": today, "reader": reader}
    asked = reads.ask(HEAD, params), reads.ask(ENTRIES, {"book": book_id}), reads.ask(JOBS, {"book": book_id})
    head, entries, jobs = await each(*asked)
    if not head:
        return None
    row = head[0]
    width = len(BookRow._fields)
    return BookRow(*row[:width]), Head(*row[width:]), [EntryRow(*r) for r in entries], [JobRow(*r) for r in jobs]


async def read_book(
    *, reads: Reader, actor: Actor, book_id: int, purpose: str, now: dt.datetime, today: dt.date
) -> tuple[Loaded, Mapping[str, Any]]:
    """``views.read_book_out``'s read and checks on the event loop: what was loaded, and the audit event of the
    read (to be logged before the answer, then answered with ``views.book_out_of``)."""
    loaded = await load(reads, book_id, day=local_day(now), today=today, reader=actor.entity_id)
    event = views.checked_read(actor, loaded, purpose, now)
    assert loaded is not None  # (checked_read refuses a missing book)
    return loaded, event
