"""Routes of the healthcare-entity database: the published list, near search, import and export."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from emhana.accounts.roles import Can, Role
from emhana.accounts.service import Actor
from emhana.facilities import io, service
from emhana.facilities.models import Entity, Site
from emhana.facilities.rules import InclusionStatus, Profile, period_on
from emhana.facilities.schemas import (
    DistrictOut,
    EntityIn,
    EntityOut,
    EntityPage,
    ImportOut,
    InclusionIn,
    InclusionOut,
    LicenceOut,
    NearOut,
    PractitionerIn,
    PractitionerOut,
    SiteOut,
)
from emhana.kernel import clock
from emhana.kernel.errors import Forbidden, ImportRejected, InvalidInput, OutsideKazakhstan
from emhana.reference.rules import in_kazakhstan
from emhana.web.deps import ReadSessionDep, SessionDep, public, require
from emhana.web.idempotency import IdempotencyKey, idempotent_json

router = APIRouter(prefix="/facilities", tags=["facilities"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024


def site_out(site: Site) -> SiteOut:
    return SiteOut(
        id=site.id,
        code=site.code,
        kind=site.kind,
        name_kk=site.name_kk,
        name_ru=site.name_ru,
        address_kk=site.address_kk,
        address_ru=site.address_ru,
        kato_code=site.kato_code,
        lat=site.lat,
        lon=site.lon,
        districts=[
            DistrictOut(id=d.id, number=d.number, profile=d.profile, capacity=d.capacity, doctor_id=d.doctor_id)
            for d in site.districts
            if d.active
        ],
    )


def entity_out(entity: Entity, day: dt.date) -> EntityOut:
    current = period_on(entity.inclusions, day)
    return EntityOut(
        id=entity.id,
        bin=entity.bin,
        name_kk=entity.name_kk,
        name_ru=entity.name_ru,
        legal_form=entity.legal_form,
        ownership=entity.ownership,
        program_gobmp=entity.program_gobmp,
        program_osms=entity.program_osms,
        contract_from=entity.contract_from,
        contract_to=entity.contract_to,
        region_kato=entity.region_kato,
        status=current.status if current else None,
        sur_registered_on=entity.sur_registered_on,
        licences=[
            LicenceOut(
                number=lic.number,
                issued_on=lic.issued_on,
                valid_until=lic.valid_until,
                subtypes=[s for s in lic.subtypes.split(",") if s],
            )
            for lic in entity.licences
        ],
        inclusions=[
            InclusionOut(status=p.status, effective_from=p.effective_from, effective_to=p.effective_to, reason=p.reason)
            for p in entity.inclusions
        ],
        sites=[site_out(s) for s in entity.sites if s.active],
    )


@router.get("/entities", response_model=EntityPage, dependencies=[public()])
def list_entities(
    session: ReadSessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EntityPage:
    """List the participating entities of the published database, with search by name, BIN or address."""
    day = clock.today()
    total, entities = service.list_participating(
        session=session, day=day, q=q.strip(), region=region, limit=limit, offset=offset
    )
    return EntityPage(total=total, limit=limit, offset=offset, items=[entity_out(e, day) for e in entities])


@router.post("/entities", response_model=EntityOut, status_code=201)
def create_entity(
    body: EntityIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.KEEP_FACILITY_REGISTER)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a new healthcare entity with its sites and districts (B-04)."""

    def run() -> tuple[int, dict[str, object]]:
        entity = service.create_entity(session=session, actor=actor, data=body)
        return 201, entity_out(entity, clock.today()).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.get("/entities/{entity_id}", response_model=EntityOut, dependencies=[public()])
def read_entity(entity_id: int, session: ReadSessionDep) -> EntityOut:
    """Return one entity with its licences, inclusion history and sites."""
    return entity_out(service.get_entity(session=session, entity_id=entity_id), clock.today())


@router.get("/near", response_model=list[NearOut], dependencies=[public()])
def near(
    session: ReadSessionDep,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    profile: Profile | None = None,
) -> list[NearOut]:
    """Return the nearest participating sites with their great-circle distance, nearest first."""
    if not in_kazakhstan(lat, lon):
        raise OutsideKazakhstan(lat=lat, lon=lon)
    found = service.near(
        session=session, lat=lat, lon=lon, day=clock.today(), limit=limit, profile=profile.value if profile else None
    )
    return [
        NearOut(
            site_id=n.site.id,
            site_code=n.site.code,
            site_name_kk=n.site.name_kk,
            site_name_ru=n.site.name_ru,
            kind=n.site.kind,
            address_kk=n.site.address_kk,
            address_ru=n.site.address_ru,
            lat=n.site.lat,
            lon=n.site.lon,
            distance_km=round(n.distance_km, 3),
            entity_id=n.entity.id,
            entity_bin=n.entity.bin,
            entity_name_kk=n.entity.name_kk,
            entity_name_ru=n.entity.name_ru,
            profiles=sorted({d.profile for d in n.site.districts if d.active}),
            districts=site_out(n.site).districts,
        )
        for n in found
    ]


@router.get("/export", dependencies=[public()], responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export(session: SessionDep, format: Literal["csv", "json"] = "json") -> Response:
    """Export the published list of participating entities as CSV or JSON."""
    records = service.published_records(session=session, day=clock.today())
    if format == "csv":
        return Response(
            io.write_csv(records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="entities.csv"'},
        )
    return JSONResponse(io.to_json_obj(records))


@router.post("/import", response_model=ImportOut, responses={422: {"content": {"application/problem+json": {}}}})
async def import_file(
    session: SessionDep,
    actor: Annotated[Actor, require(Can.KEEP_FACILITY_REGISTER)],
    file: Annotated[UploadFile, File()],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Import entities from CSV or JSON: all or nothing, every bad row reported with its line."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput()
    known = service.known_kato(session)
    name = (file.filename or "").lower()
    is_json = name.endswith(".json") or (file.content_type or "").endswith("json")
    records, row_errors = (io.read_json if is_json else io.read_csv)(data, known)
    if row_errors:
        raise ImportRejected(count=len(row_errors), errors=[e.as_problem() for e in row_errors])

    def run() -> tuple[int, dict[str, object]]:
        result = service.apply_records(session=session, actor=actor, records=records)
        return 200, ImportOut(**result.__dict__).model_dump(mode="json")

    fingerprint = {"file": hashlib.sha256(data).hexdigest(), "json": is_json}
    return await run_in_threadpool(
        idempotent_json, session=session, actor=actor, key=idempotency_key, payload=fingerprint, run=run
    )


@router.post("/entities/{entity_id}/inclusions", response_model=InclusionOut, status_code=201)
def change_inclusion(
    entity_id: int,
    body: InclusionIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.DECIDE_INCLUSION)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Include an entity in the database or exclude it from a date, with a reason (B-05, B-06).

    An exclusion moves the entity's attached people to the nearest participating sites with free
    places in the same transaction (A-94); whoever finds no place is detached and may apply at any time.
    """

    def run() -> tuple[int, dict[str, object]]:
        entity = service.get_entity(session=session, entity_id=entity_id)
        period = service.change_inclusion(
            session=session,
            actor=actor,
            entity=entity,
            status=InclusionStatus(body.status),
            effective_from=body.effective_from,
            reason=body.reason,
        )
        return 201, InclusionOut(
            status=period.status,
            effective_from=period.effective_from,
            effective_to=period.effective_to,
            reason=period.reason,
        ).model_dump(mode="json")

    payload = {"entity": entity_id, **body.model_dump(mode="json")}
    return idempotent_json(session=session, actor=actor, key=idempotency_key, payload=payload, run=run)


@router.get("/entities/{entity_id}/practitioners", response_model=list[PractitionerOut], dependencies=[public()])
def list_practitioners(entity_id: int, session: SessionDep) -> list[PractitionerOut]:
    """List the practitioners holding a post at an entity today (names and posts only, no IIN)."""
    service.get_entity(session=session, entity_id=entity_id)
    return [
        PractitionerOut(
            id=p.id,
            surname=p.surname,
            given_name=p.given_name,
            patronymic=p.patronymic,
            specialties=[s for s in p.specialties.split(",") if s],
            title=post.title,
            site_id=post.site_id,
            rate=post.rate,
        )
        for p, post in service.practitioners_of(session=session, entity_id=entity_id, day=clock.today())
    ]


@router.post("/entities/{entity_id}/practitioners", response_model=PractitionerOut, status_code=201)
def add_practitioner(
    entity_id: int,
    body: PractitionerIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.ADD_PRACTITIONER)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a practitioner's post at an entity; an entity admin only at their own entity."""
    if actor.role is Role.ENTITY_ADMIN and actor.entity_id != entity_id:
        raise Forbidden()

    def run() -> tuple[int, dict[str, object]]:
        p = service.add_practitioner(
            session=session,
            actor=actor,
            iin=body.iin,
            surname=body.surname,
            given_name=body.given_name,
            patronymic=body.patronymic,
            specialties=body.specialties,
            entity_id=entity_id,
            site_id=body.site_id,
            title=body.title,
            rate=body.rate,
            valid_from=body.valid_from,
        )
        return 201, PractitionerOut(
            id=p.id,
            surname=p.surname,
            given_name=p.given_name,
            patronymic=p.patronymic,
            specialties=[s for s in p.specialties.split(",") if s],
            title=body.title,
            site_id=body.site_id,
            rate=body.rate,
        ).model_dump(mode="json")

    payload = {"entity": entity_id, **body.model_dump(mode="json")}
    return idempotent_json(session=session, actor=actor, key=idempotency_key, payload=payload, run=run)
