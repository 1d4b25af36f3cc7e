"""The API's read of a person's attachments (GET /api/v1/attachment/persons/{id}: ``service.person_record`` and
``outputs.person_json``) answers exactly what the ORM read answers (``service.person_view`` and
``outputs.person_out``, serialized by the response model as FastAPI does), with the same refusals and the same
logged read, in one statement when the person filed no application the reader sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import outputs
from emhana.attachment.application import service
from emhana.attachment.enums import Cause, Channel, EndReason, Holder, PlaceBasis, Review, State
from emhana.attachment.models import Application, ApplicationDocument, Attachment
from emhana.attachment.rules import REFUSAL_REASONS
from emhana.attachment.schemas import AttachmentOut, PersonAttachmentsOut
from emhana.audit import readlog
from emhana.audit.models import AuditEvent
from emhana.kernel import clock, fastsql
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.db import unit_of_work
from emhana.kernel.errors import RegistryError
from tests.builders.attachment import Country
from tests.builders.people import represent

URL = "/api/v1/attachment/persons"
D = dt.date
ADAPTER = TypeAdapter(PersonAttachmentsOut)

# --- the answer's bytes against the response model's, for any rows --------------------------------------------

ZONES = st.sampled_from([dt.UTC, KZ_TIME, dt.timezone(dt.timedelta(hours=-3, minutes=-30))])
DATES = st.dates(D(2000, 1, 1), D(2040, 12, 31))
MOMENTS = st.one_of(
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2040, 1, 1), timezones=ZONES),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2040, 1, 1)),  # SQLite returns them naive (UTC)
)
IDS = st.integers(1, 2**53)
TEXT = st.text(max_size=12)
NOW = dt.datetime(2025, 9, 10, 5, 0, tzinfo=dt.UTC)


@st.composite
def attachment_rows(draw: st.DrawFn, application_ids: list[int]) -> service.AttachmentRow:
    ended = draw(st.booleans())
    return service.AttachmentRow(
        id=draw(IDS),
        person_id=draw(IDS),
        entity_id=draw(IDS),
        site_id=draw(IDS),
        district_id=draw(IDS),
        doctor_id=draw(st.none() | IDS),
        place_basis=draw(st.sampled_from([p.value for p in PlaceBasis]) | TEXT),
        cause=draw(st.sampled_from([c.value for c in Cause])),
        begin_date=draw(DATES),
        end_date=draw(DATES) if ended else None,
        end_reason=draw(st.sampled_from([r.value for r in EndReason])) if ended else None,
        insured_until=draw(st.none() | DATES),
        care_at_home=draw(st.none() | st.booleans()),
        application_id=draw(st.none() | st.sampled_from(application_ids)) if application_ids else None,
    )


DOCUMENTS = st.builds(
    service.DocumentRow,
    id=IDS,
    holder=st.sampled_from([h.value for h in Holder]),
    kind=TEXT,
    number=TEXT,
    expires_on=st.none() | DATES,
    file_name=st.none() | TEXT,
    content_type=st.none() | TEXT,
    sha256=st.none() | TEXT,
)


@st.composite
def application_rows(draw: st.DrawFn, app_id: int) -> tuple[service.ApplicationRow, list[service.DocumentRow]]:
    review = draw(st.lists(st.sampled_from([r.value for r in Review]), max_size=3, unique=True))
    row = service.ApplicationRow(
        id=app_id,
        person_id=draw(IDS),
        applicant_person_id=draw(IDS),
        channel=draw(st.sampled_from([c.value for c in Channel])),
        entity_id=draw(IDS),
        site_id=draw(IDS),
        district_id=draw(IDS),
        place_basis=draw(st.sampled_from([p.value for p in PlaceBasis])),
        border_claim=draw(st.booleans()),
        pregnant=draw(st.booleans()),
        care_at_home=draw(st.none() | st.booleans()),
        change_reason=draw(st.none() | st.sampled_from(["relocation", "closure"])),
        state=draw(st.sampled_from([s.value for s in State])),
        review=",".join(review),
        reason_code=draw(st.none() | st.sampled_from(sorted(REFUSAL_REASONS)) | TEXT.filter(lambda t: "{" not in t)),
        reason_note=draw(st.none() | TEXT),
        submitted_at=draw(MOMENTS),
        filed_on=draw(DATES),
        deadline=draw(MOMENTS),
        decided_at=draw(st.none() | MOMENTS),
        version=draw(st.integers(1, 50)),
    )
    return row, draw(st.lists(DOCUMENTS, max_size=3))


@st.composite
def records(draw: st.DrawFn) -> service.PersonRecord:
    app_ids = draw(st.lists(IDS, max_size=3, unique=True))
    applications = [draw(application_rows(i)) for i in sorted(app_ids, reverse=True)]
    history = draw(st.lists(attachment_rows(app_ids), max_size=4))
    day = draw(DATES)
    return service.PersonRecord(
        person_id=draw(IDS),
        current=service.current_of(history, day),
        upcoming=service.upcoming_of(history, day),
        history=history,
        applications=applications,
    )


def _orm_view(record: service.PersonRecord) -> service.PersonView:
    """The same rows as the ORM entities ``person_view`` returns."""
    entities = [Attachment(**a._asdict()) for a in record.history]
    apps = []
    for row, docs in record.applications:
        fields = row._asdict()
        app = Application(**fields)
        app.documents = [ApplicationDocument(application_id=row.id, **d._asdict()) for d in docs]
        apps.append(app)
    return service.PersonView(
        person_id=record.person_id,
        current=entities[record.history.index(record.current)] if record.current else None,
        upcoming=entities[record.history.index(record.upcoming)] if record.upcoming else None,
        history=entities,
        applications=apps,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records(), now=st.sampled_from([NOW, NOW + dt.timedelta(days=400), NOW - dt.timedelta(days=4000)]))
def test_the_bytes_are_the_response_models(session: Session, record: service.PersonRecord, now: dt.datetime) -> None:
    sent = outputs.person_json(session, record, now)
    # FastAPI's serialization of the model the payload validates into: validation keeps every value as it is
    assert sent == ADAPTER.dump_json(ADAPTER.validate_python(outputs.person_payload(session, record, now)))
    # and the ORM read's answer of the same rows, as the route sent it before
    assert sent == ADAPTER.dump_json(ADAPTER.validate_python(outputs.person_out(session, _orm_view(record), now)))


def test_rows_carry_every_field_of_the_answer() -> None:
    assert set(AttachmentOut.model_fields) <= set(service.AttachmentRow._fields)
    assert tuple(PersonAttachmentsOut.model_fields) == ("person_id", "current", "upcoming", "history", "applications")


# --- the read on the database: the same answers as person_view, for every reader ----------------------------------


def _app(person: int, entity: int, site: int, district: int, state: State, **kw: Any) -> Application:
    at = dt.datetime(2025, 9, 1, 9, 30, 15, 120000, tzinfo=KZ_TIME)
    values: dict[str, Any] = {
        "person_id": person,
        "applicant_person_id": person,
        "channel": Channel.EGOV.value,
        "entity_id": entity,
        "site_id": site,
        "district_id": district,
        "place_basis": PlaceBasis.RESIDENCE_PERMANENT.value,
        "state": state.value,
        "review": "",
        "submitted_at": at,
        "filed_on": at.date(),
        "deadline": at + dt.timedelta(days=3),
        **kw,
    }
    return Application(**values)


def _period(person: int, entity: int, site: int, district: int, begin: dt.date, **kw: Any) -> Attachment:
    values: dict[str, Any] = {
        "person_id": person,
        "entity_id": entity,
        "site_id": site,
        "district_id": district,
        "place_basis": PlaceBasis.RESIDENCE_PERMANENT.value,
        "cause": Cause.FIRST_ATTACHMENT.value,
        "begin_date": begin,
        "decided_on": begin,
        **kw,
    }
    return Attachment(**values)


@pytest.fixture
def world(sessions: sessionmaker[Session], country: Country, person: Callable[..., int]) -> dict[str, int]:
    """Persons with every kind of history: at A with an ended period at B and applications of both (a refusal
    with documents, one expired; an approval that opened the period; one waiting past its deadline); at B with a
    change to A approved for next year; at B with an application waiting at A (A's population by it); a child
    with nothing; and an id of nobody."""
    a1, a2 = country.districts[("A1", 1)], country.districts[("A2", 1)]
    b1 = country.districts[("B1", 1)]
    sa, sa2, sb = country.sites["A1"], country.sites["A2"], country.sites["B1"]
    ids = {"full": person(), "moving": person(), "waiting": person(), "child": person(born=D(2016, 4, 1))}
    represent(sessions, ids["full"], ids["child"])
    with sessions.begin() as s:
        full = ids["full"]
        refused = _app(
            full,
            country.b,
            sb,
            b1,
            State.REFUSED,
            channel=Channel.WRITTEN.value,
            review="written,border",
            reason_code="attachment.documents_inaccurate",
            reason_note="Печать не читается — «нечётко»",
            decided_at=dt.datetime(2025, 9, 3, 11, 0, tzinfo=KZ_TIME),
            border_claim=True,
        )
        refused.documents = [
            ApplicationDocument(
                holder=Holder.PERSON.value, kind="id_card", number="N1", expires_on=D(2025, 1, 1), sha256="ab" * 32
            ),
            ApplicationDocument(
                holder=Holder.APPLICANT.value,
                kind="passport",
                number="N2",
                expires_on=D(2030, 1, 1),
                file_name="скан.pdf",
                content_type="application/pdf",
                content=b"%PDF",
            ),
        ]
        approved = _app(
            full,
            country.a,
            sa,
            a1,
            State.APPROVED,
            pregnant=True,
            care_at_home=True,
            decided_at=dt.datetime(2025, 9, 2, 10, 0, tzinfo=KZ_TIME),
        )
        waiting = _app(full, country.a, sa2, a2, State.SUBMITTED, change_reason="relocation", review="relocation")
        other = _app(ids["waiting"], country.a, sa, a1, State.SUBMITTED)
        s.add_all([refused, approved, waiting, other])
        s.flush()
        s.add_all(
            [
                _period(full, country.b, sb, b1, D(2020, 1, 1), end_date=D(2025, 9, 2), end_reason="transfer"),
                _period(full, country.a, sa, a1, D(2025, 9, 3), application_id=approved.id, care_at_home=True),
                _period(
                    ids["moving"], country.b, sb, b1, D(2019, 5, 5), end_date=D(2025, 12, 31), end_reason="transfer"
                ),
                _period(ids["moving"], country.a, sa, a1, D(2026, 1, 1), cause=Cause.VOLUNTARY_CHANGE.value),
                _period(ids["waiting"], country.b, sb, b1, D(2021, 2, 2), insured_until=D(2027, 1, 1)),
            ]
        )
    ids["nobody"] = ids["child"] + 10_000
    return ids


def _reference(sessions: sessionmaker[Session], actor: Actor, person_id: int, purpose: str) -> tuple[int, bytes | str]:
    """The status and body the ORM read gives (the route's answer before issue 18)."""
    now = clock.now()
    try:
        with unit_of_work(sessions, read_only=True) as s:
            view = service.person_view(
                session=s, actor=actor, person_id=person_id, today=service.local_day(now), purpose=purpose
            )
            body = ADAPTER.dump_json(ADAPTER.validate_python(outputs.person_out(s, view, now)))
            s.info.pop(readlog.READS, None)  # this reference read is not one to log
    except RegistryError as e:
        return e.status, e.code
    return 200, body


def _reads(sessions: sessionmaker[Session]) -> list[tuple[int | None, str | None]]:
    with sessions() as s:
        rows = s.execute(
            select(AuditEvent.subject_person_id, AuditEvent.purpose)
            .where(AuditEvent.action == "attachment.read")
            .order_by(AuditEvent.id)
        )
        return [(r[0], r[1]) for r in rows]


def test_every_reader_gets_what_the_orm_read_gives(
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    country: Country,
    world: dict[str, int],
) -> None:
    readers = {
        "self": make_actor(Role.CITIZEN, person_id=world["full"]),
        "other citizen": make_actor(Role.CITIZEN, person_id=world["moving"]),
        "registrar A": make_actor(Role.REGISTRAR, entity_id=country.a),
        "clinician A": make_actor(Role.CLINICIAN, entity_id=country.a),
        "clinician B": make_actor(Role.CLINICIAN, entity_id=country.b),
        "clinician Almaty": make_actor(Role.CLINICIAN, entity_id=country.almaty),
        "fund": make_actor(Role.FUND_ADMIN),
    }
    answered = 0
    for who, (actor, token) in readers.items():
        for name, pid in world.items():
            for query, purpose in (("", "history of attachments"), ("?purpose=care", "care")):
                logged = len(_reads(sessions))
                got = client.get(f"{URL}/{pid}{query}", headers={"Authorization": f"Bearer {token}"})
                status, body = _reference(sessions, actor, pid, purpose)
                case = (who, name, query)
                assert got.status_code == status, case
                if status == 200:
                    answered += 1
                    assert got.content == body, case
                    assert got.headers["content-type"] == "application/json", case
                    assert _reads(sessions)[logged:] == [(pid, purpose)], case
                else:
                    assert got.json()["code"] == body, case
                    assert len(_reads(sessions)) == logged, case
    assert answered > 20  # the cases above include readers who may read, with applications and documents shown


def test_answers_in_effect_and_overdue_as_the_orm_read(
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    world: dict[str, int],
    now: Callable[[dt.datetime], None],
) -> None:
    actor, token = make_actor(Role.FUND_ADMIN)
    for moment in (dt.datetime(2025, 9, 1, 12, tzinfo=KZ_TIME), dt.datetime(2026, 2, 1, 12, tzinfo=KZ_TIME)):
        now(moment)
        for name in ("full", "moving"):
            got = client.get(f"{URL}/{world[name]}?purpose=oversight", headers={"Authorization": f"Bearer {token}"})
            assert (got.status_code, got.content) == _reference(sessions, actor, world[name], "oversight"), name


# --- how many statements ----------------------------------------------------------------------------------------


@pytest.fixture
def statements(sessions: sessionmaker[Session]) -> Iterator[Callable[[], int]]:
    """The statements sent so far (those sent through SQLAlchemy, and those on the driver's cursor)."""
    engine = sessions.kw["bind"]
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    yield lambda: seen[0] + fastsql.Fast.sent
    event.remove(engine, "before_cursor_execute", count)


def _record(sessions: sessionmaker[Session], actor: Actor, person_id: int, statements: Callable[[], int]) -> int:
    with unit_of_work(sessions, read_only=True) as s:
        s.connection()
        before = statements()
        service.person_record(session=s, actor=actor, person_id=person_id, today=D(2025, 9, 10))
        sent = statements() - before
        s.info.pop(readlog.READS, None)
    return sent


def test_one_statement_answers_a_read_of_the_population(
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    country: Country,
    world: dict[str, int],
    statements: Callable[[], int],
) -> None:
    clinician_a = make_actor(Role.CLINICIAN, entity_id=country.a)[0]
    clinician_b = make_actor(Role.CLINICIAN, entity_id=country.b)[0]
    # attached to the reader's organization, no application of it: the person, the periods and the population check
    assert _record(sessions, clinician_a, world["moving"], statements) == 1
    # one more for the applications the reader sees, with their documents
    assert _record(sessions, clinician_a, world["full"], statements) == 2
    # attached to B, whose staff do not see the application waiting at A
    assert _record(sessions, clinician_b, world["waiting"], statements) == 1
    # attached elsewhere: the population check asks whether an application (or a book) ties the person to A
    assert _record(sessions, clinician_a, world["waiting"], statements) >= 3
