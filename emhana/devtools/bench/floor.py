"""The reference floor of an audited read: the least one can cost on this stack (the benchmark's server only).

`emhana bench http` (and the national run's HTTP part) run the real application with one more route,
``GET /bench/floor/{person_id}``, that does what every audited read must do and nothing else:

* it authenticates its bearer token and admits its role as the real routes do (``web/deps.py``: ``require``,
  the token cache, the middlewares of ``emhana.app`` around it);
* it runs ONE indexed query in a read-only unit of work (``LoggedReadSessionDep``): the person's open attachment
  by the unique index ``uq_attachment_person_open``; a person outside the reader's entity is 404, nothing logged;
* it logs the read through the real access log (``emhana.audit.readlog``: an audit event and its chain link,
  committed before the answer is sent, docs/access-log.md);
* it answers a small JSON object.

Its rate beside ping's says how far an audited read on this stack (FastAPI, SQLAlchemy, PostgreSQL, the access
log's group commit, on this machine) can go at best: a real read's figure above that ratio is impossible, one
well below it has work of its own to cut. The route exists only in the application the benchmark's server runs
(``create_app`` here: emhana.devtools.bench.serve's with this route added), never in ``emhana.app``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.audit.readlog import log_read
from emhana.audit.service import event_row
from emhana.kernel.errors import NotFound
from emhana.web.deps import LoggedReadSessionDep, require

PATH = "/bench/floor"
ACTION = "bench.floor"

router = APIRouter()

_OPEN_ATTACHMENT = text(
    "SELECT entity_id, begin_date, person_sex, person_birth_date FROM attachment "
    "WHERE person_id = :person AND end_date IS NULL"
)


@router.get(PATH + "/{person_id}")
def floor(
    person_id: int,
    session: LoggedReadSessionDep,
    actor: Annotated[Actor, require(Can.READ_PERSON_ATTACHMENTS)],
) -> dict[str, Any]:
    """Return a person's open attachment (its entity, start, the person's sex and birth date) to a reader of
    that entity, the read logged before the answer."""
    row = session.execute(_OPEN_ATTACHMENT, {"person": person_id}).one_or_none()
    if row is None or row.entity_id != actor.entity_id:
        raise NotFound()
    log_read(
        session,
        event_row(
            actor=actor,
            action=ACTION,
            object_type="person",
            object_id=person_id,
            subject_person_id=person_id,
            purpose="reference floor",
        ),
    )
    return {
        "person": person_id,
        "entity": row.entity_id,
        "since": str(row.begin_date),  # ISO (a date on PostgreSQL, its ISO text on SQLite)
        "sex": row.person_sex,
        "birth_date": str(row.person_birth_date) if row.person_birth_date else None,
    }


def create_app() -> FastAPI:
    """The benchmark server's application: emhana.devtools.bench.serve's (emhana.app's, on EMHANA_BENCH_CLOCK's
    clock when set) with the floor route and its async twin (emhana.devtools.bench.floor_async) added first."""
    from emhana.devtools.bench import floor_async
    from emhana.devtools.bench.serve import create_app as create

    app = create()
    before = len(app.router.routes)
    app.include_router(router)
    floor_async.install(app)
    # First in the route list: a request walks the routers before its own (emhana/web/routing.py asks each one
    # whose paths could match), some 130 µs more for a route at the end than for /api/v1/attachment/persons/{id};
    # at the front the floors pay less for that walk than any real route, as a floor should.
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[:0] = added
    return app
