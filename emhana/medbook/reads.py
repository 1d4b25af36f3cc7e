"""The worker's "who read my book" list (journey 9): every logged read of the book, in Kazakhstan's time with its
zone named, the reader with their organization, one line per reader and purpose per visit (a page refreshed
within half an hour is the same visit, counted), latest first, in pages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.facilities.models import Entity
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import BookNotFound
from emhana.medbook.models import EmployerLink, Employment, MedicalBook
from emhana.medbook.schemas import ReadOut, ReadsPage
from emhana.medbook.views import BOOK, READ_ACTIONS

READS_PER_PAGE = 50
READ_VISIT_GAP = dt.timedelta(minutes=30)  # reads of one reader for one purpose closer than this are one visit
READS_TIME_ZONE = "Asia/Almaty"  # Kazakhstan's one time since 1 March 2024, UTC+05:00 (kernel.clock.KZ_TIME)


def _organization(entity: Entity | None, lang: str) -> str:
    if entity is None:
        return ""
    return (entity.name_kk or entity.name_ru) if lang == "kk" else entity.name_ru


def collapse_reads(rows: list[tuple[dt.datetime, tuple[object, ...]]], gap: dt.timedelta) -> list[tuple[int, int]]:
    """Group reads, latest first, into visits: the reads of one key (reader and purpose) each within ``gap`` of
    the next one of that key. Return (index of the visit's latest read, number of reads) per visit, latest first.

    Reads of other readers in between do not split a visit; a refresh of the page a minute later is the same visit.
    """
    visits: list[list[int]] = []  # [index of the latest read, count]
    open_visit: dict[tuple[object, ...], tuple[int, dt.datetime]] = {}  # key -> (visit number, earliest read so far)
    for i, (at, key) in enumerate(rows):
        found = open_visit.get(key)
        if found is not None and found[1] - at <= gap:
            visits[found[0]][1] += 1
            open_visit[key] = (found[0], at)
        else:
            open_visit[key] = (len(visits), at)
            visits.append([i, 1])
    return [(i, n) for i, n in visits]


def reads_of_my_book(
    *, session: Session, actor: Actor, page: int = 1, per_page: int = READS_PER_PAGE, lang: str | None = None
) -> ReadsPage:
    """Return who read the citizen's book, when and why, latest visit first, one page at a time (journey 9).

    Times are Kazakhstan's (UTC+05:00); each reader is named with their organization; the reads of one reader
    for one purpose within READ_VISIT_GAP of each other are one visit, shown at its latest read with a count.
    """
    book = (
        session.scalar(select(MedicalBook).where(MedicalBook.person_id == actor.person_id))
        if actor.person_id is not None
        else None
    )
    if book is None:
        raise BookNotFound()
    lang = lang or book.language
    # an employer has no organization in the register: it is named by the workplace of the worker's job with it
    workplaces = {
        job.employer_number: job.workplace
        for job in session.scalars(
            select(Employment).where(Employment.book_id == book.id).order_by(Employment.valid_from)
        )
    }
    rows = session.execute(
        select(AuditEvent.at, AuditEvent.account_id, AuditEvent.purpose, Account, Entity, EmployerLink.bin)
        .outerjoin(Account, Account.id == AuditEvent.account_id)
        .outerjoin(Entity, Entity.id == Account.entity_id)
        .outerjoin(EmployerLink, EmployerLink.account_id == AuditEvent.account_id)
        .where(
            AuditEvent.object_type == BOOK,
            AuditEvent.object_id == str(book.id),
            AuditEvent.action.in_(READ_ACTIONS),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    ).all()
    visits = collapse_reads(
        [(_aware(at), (account_id, purpose)) for at, account_id, purpose, _, _, _ in rows], READ_VISIT_GAP
    )
    page = max(page, 1)
    shown = visits[(page - 1) * per_page : page * per_page]
    items = []
    for index, count in shown:
        at, _, purpose, account, entity, employer = rows[index]
        local = _aware(at).astimezone(KZ_TIME)
        items.append(
            ReadOut(
                at=local,
                at_local=local.strftime("%d.%m.%Y %H:%M"),
                time_zone=READS_TIME_ZONE,
                reader=account.display_name if account else "",
                role=account.role if account else "",
                organization=_organization(entity, lang) or workplaces.get(employer or "", ""),
                purpose=purpose,
                count=count,
            )
        )
    return ReadsPage(
        items=items, page=page, per_page=per_page, has_previous=page > 1, has_next=len(visits) > page * per_page
    )


def _aware(at: dt.datetime) -> dt.datetime:
    """Read a stored instant as UTC when the database gave it back without its zone (SQLite)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
