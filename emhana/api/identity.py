"""Routes of the identity domain: persons, IIN checks, legal representation. No IIN ever sits in a URL."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.identity import service
from emhana.identity.models import LegalRepresentation, Person
from emhana.identity.rules import PURPOSE_TEXT_MAX, ReadPurpose, iin_hints, iin_problem
from emhana.identity.schemas import (
    IIN,
    AddressOut,
    DocumentOut,
    PersonIn,
    PersonOut,
    RepresentationIn,
    RepresentationOut,
)
from emhana.kernel.errors import NotFound
from emhana.kernel.i18n import LANGUAGES, N_, translate
from emhana.web.deps import SessionDep, public, require
from emhana.web.idempotency import IdempotencyKey, idempotent_json
from emhana.web.purpose import PURPOSE_HELP, PurposeQuery, PurposeTextQuery, stated

router = APIRouter(tags=["identity"])

HINT_DATE_DIFFERS = N_("the date digits of the IIN differ from the birth date (not an error, D-03)")


def person_out(p: Person) -> PersonOut:
    hints = iin_hints(p.iin)
    return PersonOut(
        id=p.id,
        iin=p.iin,
        surname=p.surname,
        given_name=p.given_name,
        patronymic=p.patronymic,
        birth_date=p.birth_date,
        sex=p.sex,
        category=p.category,
        death_date=p.death_date,
        addresses=[
            AddressOut(
                kind=a.kind,
                text_kk=a.text_kk,
                text_ru=a.text_ru,
                kato_code=a.kato_code,
                kato_version=a.kato_version,
                lat=a.lat,
                lon=a.lon,
            )
            for a in p.addresses
        ],
        phones=[ph.number for ph in p.phones],
        documents=[
            DocumentOut(kind=d.kind, number=d.number, issuer=d.issuer, issued_on=d.issued_on, expires_on=d.expires_on)
            for d in p.documents
        ],
        hints=list(hints.warnings) + ([] if hints.birth_date in (None, p.birth_date) else [HINT_DATE_DIFFERS]),
    )


def representation_out(r: LegalRepresentation) -> RepresentationOut:
    return RepresentationOut(
        id=r.id,
        representative_id=r.representative_id,
        represented_id=r.represented_id,
        basis=r.basis,
        document_kind=r.document_kind,
        document_number=r.document_number,
        basis_document=r.basis_document,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
    )


@router.post("/persons", response_model=PersonOut, status_code=201)
def create_person(
    body: PersonIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.REGISTER_PERSON)],
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Register a person. A retry with the same Idempotency-Key returns the first answer."""

    def run() -> tuple[int, dict[str, object]]:
        person = service.create_person(session=session, actor=actor, data=body)
        return 201, person_out(person).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


def threshold(request: Request) -> int:
    """Reads a day before an account is flagged to the Fund (Settings.read_flag_threshold)."""
    return int(request.app.state.settings.read_flag_threshold)


@router.get("/persons/{person_id}", response_model=PersonOut)
def read_person(
    person_id: int,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.READ_PERSON)],
    purpose: PurposeQuery = None,
    purpose_text: PurposeTextQuery = None,
) -> PersonOut:
    """Return a person's identity data (the read is logged with its purpose and shown to the person); a
    citizen only their own or a represented person's."""
    return person_out(
        service.get_person(
            session=session,
            actor=actor,
            person_id=person_id,
            purpose=stated(purpose, purpose_text, "api read"),
            flag_after=threshold(request),
        )
    )


class LookupIn(BaseModel):
    iin: IIN
    purpose: ReadPurpose | None = Field(default=None, description=PURPOSE_HELP)
    purpose_text: str | None = Field(default=None, max_length=PURPOSE_TEXT_MAX)


@router.post("/persons/lookup", response_model=PersonOut)
def lookup_person(
    body: LookupIn, request: Request, session: SessionDep, actor: Annotated[Actor, require(Can.READ_ANY_PERSON)]
) -> PersonOut:
    """Find a person by IIN (sent in the body) for a stated purpose."""
    return person_out(
        service.find_by_iin(
            session=session,
            actor=actor,
            iin=body.iin,
            purpose=stated(body.purpose, body.purpose_text, "identification"),
            flag_after=threshold(request),
        )
    )


@router.get("/me/person", response_model=PersonOut)
def my_person(session: SessionDep, actor: Annotated[Actor, require(Can.SEE_OWN_RECORDS)]) -> PersonOut:
    """Return the citizen's own identity data."""
    if actor.person_id is None:
        raise NotFound()
    return person_out(service.get_person(session=session, actor=actor, person_id=actor.person_id, purpose="own record"))


@router.post("/representations", response_model=RepresentationOut, status_code=201)
def add_representation(
    body: RepresentationIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.REGISTER_PERSON)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a legal representation on its basis document (a registrar of the organization the person is
    attached to, or the Fund); both people are told. A retry with the same Idempotency-Key returns the first
    answer."""

    def run() -> tuple[int, dict[str, object]]:
        row = service.add_representation(session=session, actor=actor, data=body)
        return 201, representation_out(row).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.get("/persons/{person_id}/representations", response_model=list[RepresentationOut])
def list_representations(
    person_id: int,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.READ_PERSON)],
    purpose: PurposeQuery = None,
    purpose_text: PurposeTextQuery = None,
) -> list[RepresentationOut]:
    """Return the representations where a readable person represents or is represented."""
    service.get_person(
        session=session,
        actor=actor,
        person_id=person_id,
        purpose=stated(purpose, purpose_text, "representations"),
        flag_after=threshold(request),
    )
    return [representation_out(r) for r in service.representations_of(session=session, person_id=person_id)]


class IinCheckIn(BaseModel):
    iins: list[str] = Field(min_length=1, max_length=100)


class IinCheckOut(BaseModel):
    iin: str
    valid: bool
    reason: dict[str, str] | None
    birth_date_hint: dt.date | None
    sex_hint: str | None


@router.post("/identity/iin-check", response_model=list[IinCheckOut], dependencies=[public()])
def iin_check(body: IinCheckIn) -> list[IinCheckOut]:
    """Check IINs: length, digits and check digit decide; decoded date and sex are hints (D-03)."""
    out = []
    for raw in body.iins:
        value = raw.strip()
        problem = iin_problem(value)
        hints = iin_hints(value) if problem is None else None
        out.append(
            IinCheckOut(
                iin=value,
                valid=problem is None,
                reason={lg: translate(lg, problem) for lg in LANGUAGES} if problem else None,
                birth_date_hint=hints.birth_date if hints else None,
                sex_hint=hints.sex.value if hints and hints.sex else None,
            )
        )
    return out
