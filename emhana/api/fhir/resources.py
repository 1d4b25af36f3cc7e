"""FHIR R4 reads and searches of the registry: Patient (and its $medbook), Organization, Location,
Practitioner, PractitionerRole, and the CapabilityStatement.

The public directory (Organization, Location, PractitionerRole: no IIN in them) is open without a token, as the
published list of participants is on /facilities; Practitioner (its IIN) and Patient need one. Reads carry the
ETag of ``meta.versionId`` (``versioned``); vread and ``_history`` are in ``history``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.api.fhir import history as history  # registered before the reads: Type/_history is not an id
from emhana.api.fhir.history import LAST_UPDATED, PUBLIC_READ, last_updated
from emhana.api.fhir.search import (
    DIGITS12,
    READ,
    Params,
    PatientReader,
    _bad,
    _found,
    _numeric,
    _purpose,
    base_url,
    router,
    search_items,
    searchset,
)
from emhana.api.fhir.versioned import versioned
from emhana.fhir import outbound, patient_reads, registry, systems
from emhana.fhir.capability import capability_statement
from emhana.fhir.outcome import (
    IDENTIFIER_REQUIRED,
    NO_BOOK,
    FhirError,
    Issue,
    fhir_response,
)
from emhana.fhir.versions import LOCATION, ORGANIZATION, PRACTITIONER, ROLE
from emhana.identity.service import flag_read_volume, read_flag_limit
from emhana.kernel import clock
from emhana.kernel.errors import BookNotFound
from emhana.web.deps import ReadSessionDep, SessionDep, public, require
from emhana.web.reads import async_reads, logged_read


@router.get("/metadata", dependencies=[public()])
def metadata(request: Request) -> JSONResponse:
    """The CapabilityStatement."""
    return fhir_response(capability_statement(base_url(request)))


# --- Patient -----------------------------------------------------------------------------------------

PATIENT_PARAMS = {"identifier", "_id"}


@router.get("/Patient/{rid}")
async def read_patient(rid: str, request: Request, actor: PatientReader) -> Response:
    """Read a Patient (the read is logged), with its ETag; If-None-Match answered with 304."""
    person_id, purpose = _numeric("Patient", rid), _purpose(request)
    day, now = clock.today(), clock.now()
    reads = async_reads(request)
    if reads is None:  # SQLite: the read-only unit of work in a worker thread

        def read(session: Session) -> dict[str, Any] | None:
            return registry.read_patient(
                session=session, actor=actor, person_id=person_id, day=day, now=now, purpose=purpose
            )

        found = await logged_read(request, read)
    else:  # PostgreSQL: on the event loop, its statements batched with other requests' (web/reads.py)
        got = await patient_reads.read_patient(
            reads=reads, actor=actor, person_id=person_id, day=day, now=now, purpose=purpose
        )
        found = got.patient
        if not got.volume_settled:  # past the day's limit: the account is flagged to the Fund, once a day, with
            # the count of the reads committed before this one (as in the synchronous read)

            def flag(session: Session) -> bool:
                return flag_read_volume(session=session, actor=actor, day=day, limit=read_flag_limit())

            await logged_read(request, flag)
        if got.event is not None:
            await reads.log([got.event])  # durable before the answer
    _found("Patient", rid, found)
    assert found is not None
    return versioned(request, found)


async def _search_patients(request: Request, session: SessionDep, actor: Actor) -> JSONResponse:
    params = Params(await search_items(request), PATIENT_PARAMS)
    iin = params.token("identifier", systems.IIN)
    person_id = params.ident()
    if iin is None and person_id is None:
        raise FhirError(
            400,
            Issue(
                "required", "fhir.identifier_required", IDENTIFIER_REQUIRED, {"system": systems.IIN}, ("identifier",)
            ),
        )
    total, found = registry.search_patients(
        session=session,
        actor=actor,
        iin=iin,
        person_id=person_id,
        day=clock.today(),
        now=clock.now(),
        purpose=_purpose(request),
    )
    return searchset(request, "Patient", params, total, found, hide=("identifier",))


@router.get("/Patient")
async def search_patients(request: Request, session: SessionDep, actor: PatientReader) -> JSONResponse:
    """Search Patients by IIN (GET; the IIN then travels in the URL because FHIR requires it)."""
    return await _search_patients(request, session, actor)


@router.post("/Patient/_search")
async def search_patients_post(request: Request, session: SessionDep, actor: PatientReader) -> JSONResponse:
    """Search Patients by IIN in a form body (preferred: the IIN stays out of URLs)."""
    return await _search_patients(request, session, actor)


@router.get("/Patient/{rid}/$medbook")
def patient_medbook(
    rid: str, request: Request, session: SessionDep, actor: Annotated[Actor, require(Can.READ_FHIR_MEDBOOK)]
) -> JSONResponse:
    """The worker's personal medical book as a FHIR document Bundle with its signatures (the read is logged)."""
    try:
        doc = outbound.document(
            session=session,
            actor=actor,
            person_id=_numeric("Patient", rid),
            base=base_url(request),
            now=clock.now(),
            purpose=_purpose(request),
        )
    except BookNotFound:
        raise FhirError(404, Issue("not-found", BookNotFound.code, NO_BOOK, {}, ("Patient",))) from None
    return fhir_response(doc)


# --- Organization, Location, Practitioner, PractitionerRole -----------------------------------------------


def _read(request: Request, rtype: str, rid: str, found: dict[str, Any] | None) -> Response:
    _found(rtype, rid, found)
    assert found is not None
    return versioned(request, found)


async def _search_organizations(request: Request, session: ReadSessionDep) -> JSONResponse:
    params = Params(
        await search_items(request), {"identifier", "name", "_id", "_lastUpdated"}, repeatable={LAST_UPDATED}
    )
    raw = params.get("identifier")
    bin_ = None
    if raw is not None:
        sys_, sep, value = raw.partition("|")
        if not sep or sys_ != systems.BIN or not DIGITS12.match(value):
            raise _bad("identifier", f"expected {systems.BIN}|<12 digits>")
        bin_ = value
    total, found = registry.search_organizations(
        session=session,
        bin_=bin_,
        name=params.get("name"),
        entity_id=params.ident(),
        updated=last_updated(params),
        day=clock.today(),
        now=clock.now(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, ORGANIZATION, params, total, found)


@router.get("/Organization/{rid}", dependencies=PUBLIC_READ)
def read_organization(rid: str, request: Request, session: ReadSessionDep) -> Response:
    """Read an Organization (public: the directory), with its ETag."""
    entity_id = _numeric(ORGANIZATION, rid)
    found = registry.read_organization(session=session, entity_id=entity_id, day=clock.today(), now=clock.now())
    return _read(request, ORGANIZATION, rid, found)


@router.get("/Organization", dependencies=PUBLIC_READ)
async def search_organizations(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search Organizations by BIN, name, id or _lastUpdated (public)."""
    return await _search_organizations(request, session)


@router.post("/Organization/_search", dependencies=PUBLIC_READ)
async def search_organizations_post(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search Organizations (form body; public)."""
    return await _search_organizations(request, session)


def _near(raw: str | None) -> tuple[float, float, float] | None:
    if raw is None:
        return None
    parts = raw.split("|")
    try:
        lat, lon = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else 10.0
    except (ValueError, IndexError):
        raise _bad("near", "lat|lon|distance|km") from None
    unit = parts[3] if len(parts) > 3 and parts[3] else "km"
    if unit not in ("km", "m") or len(parts) > 4 or not (-90 <= lat <= 90 and -180 <= lon <= 180) or distance <= 0:
        raise _bad("near", "lat|lon|distance|km")
    return lat, lon, distance / 1000 if unit == "m" else distance


async def _search_locations(request: Request, session: ReadSessionDep) -> JSONResponse:
    params = Params(
        await search_items(request), {"near", "organization", "_id", "_lastUpdated"}, repeatable={LAST_UPDATED}
    )
    total, found, extensions = registry.search_locations(
        session=session,
        near_point=_near(params.get("near")),
        entity_id=params.reference("organization", ORGANIZATION),
        site_id=params.ident(),
        updated=last_updated(params),
        day=clock.today(),
        now=clock.now(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, LOCATION, params, total, found, extensions=extensions)


@router.get("/Location/{rid}", dependencies=PUBLIC_READ)
def read_location(rid: str, request: Request, session: ReadSessionDep) -> Response:
    """Read a Location (a site; public), with its ETag."""
    site_id = _numeric(LOCATION, rid)
    return _read(
        request,
        LOCATION,
        rid,
        registry.read_location(session=session, site_id=site_id, day=clock.today(), now=clock.now()),
    )


@router.get("/Location", dependencies=PUBLIC_READ)
async def search_locations(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search Locations near a point (lat|lon|distance|km), by organization, id or _lastUpdated (public)."""
    return await _search_locations(request, session)


@router.post("/Location/_search", dependencies=PUBLIC_READ)
async def search_locations_post(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search Locations (form body; public)."""
    return await _search_locations(request, session)


async def _search_practitioners(request: Request, session: ReadSessionDep) -> JSONResponse:
    params = Params(await search_items(request), {"identifier", "_id", "_lastUpdated"}, repeatable={LAST_UPDATED})
    total, found = registry.search_practitioners(
        session=session,
        iin=params.token("identifier", systems.IIN),
        practitioner_id=params.ident(),
        updated=last_updated(params),
        day=clock.today(),
        now=clock.now(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, PRACTITIONER, params, total, found, hide=("identifier",))


@router.get("/Practitioner/{rid}", dependencies=READ)
def read_practitioner(rid: str, request: Request, session: ReadSessionDep) -> Response:
    """Read a Practitioner, with its ETag."""
    pid = _numeric(PRACTITIONER, rid)
    found = registry.read_practitioner(session=session, practitioner_id=pid, day=clock.today(), now=clock.now())
    return _read(request, PRACTITIONER, rid, found)


@router.get("/Practitioner", dependencies=READ)
async def search_practitioners(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search Practitioners by IIN, id or _lastUpdated."""
    return await _search_practitioners(request, session)


@router.post("/Practitioner/_search", dependencies=READ)
async def search_practitioners_post(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search Practitioners (form body)."""
    return await _search_practitioners(request, session)


async def _search_roles(request: Request, session: ReadSessionDep) -> JSONResponse:
    params = Params(
        await search_items(request), {"practitioner", "organization", "_id", "_lastUpdated"}, repeatable={LAST_UPDATED}
    )
    total, found = registry.search_roles(
        session=session,
        practitioner_id=params.reference("practitioner", PRACTITIONER),
        entity_id=params.reference("organization", ORGANIZATION),
        post_id=params.ident(),
        updated=last_updated(params),
        day=clock.today(),
        now=clock.now(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, ROLE, params, total, found)


@router.get("/PractitionerRole/{rid}", dependencies=PUBLIC_READ)
def read_role(rid: str, request: Request, session: ReadSessionDep) -> Response:
    """Read a PractitionerRole (a post; public: its practitioner by id only), with its ETag."""
    post_id = _numeric(ROLE, rid)
    return _read(
        request, ROLE, rid, registry.read_role(session=session, post_id=post_id, day=clock.today(), now=clock.now())
    )


@router.get("/PractitionerRole", dependencies=PUBLIC_READ)
async def search_roles(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search PractitionerRoles by practitioner, organization, id or _lastUpdated (public)."""
    return await _search_roles(request, session)


@router.post("/PractitionerRole/_search", dependencies=PUBLIC_READ)
async def search_roles_post(request: Request, session: ReadSessionDep) -> JSONResponse:
    """Search PractitionerRoles (form body; public)."""
    return await _search_roles(request, session)
