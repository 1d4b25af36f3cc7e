"""Thin doors: /fhir/R4 (read, search, transaction, $medbook, metadata) and /api/v1/interop (code map,
dead-letter queue, sync status). ``install`` adds both routers, the OperationOutcome rendering of errors on
/fhir paths and the access-log filter that keeps search parameters (an IIN) out of the logs."""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.fhir import deadletter, inbound, outbound, registry, systems
from emhana.fhir.capability import capability_statement
from emhana.fhir.codemap import CodeMapIn, CodeMapOut, list_codes, put_code
from emhana.fhir.inbound import Accepted, Rejected
from emhana.fhir.outcome import (
    BAD_SEARCH,
    DUPLICATE,
    FHIR_JSON,
    IDENTIFIER_REQUIRED,
    NO_BOOK,
    NOT_FOUND,
    TOO_LARGE,
    UNSUPPORTED_SEARCH,
    FhirError,
    Issue,
    error_response,
    fhir_response,
    outcome,
    outcome_from_texts,
)
from emhana.fhir.signature import Trust, load_trust
from emhana.kernel import clock
from emhana.kernel.errors import BookNotFound
from emhana.kernel.i18n import N_
from emhana.web.deps import SessionDep, public, require
from emhana.web.problems import PROBLEM_JSON, language, problem

router = APIRouter(prefix="/fhir/R4", tags=["fhir"])
interop = APIRouter(prefix="/interop", tags=["interop"])

IGNORED = {"_format", "_pretty", "_total", "_summary", "lang"}
REPLAY_REFUSED = N_("The bundle was refused again; its dead letters name the problems.")
DEFAULT_COUNT, MAX_COUNT = 20, 100
MAX_BODY = 5 * 1024 * 1024
DIGITS12 = re.compile(r"^\d{12}$")

READ = [require(Can.READ_FHIR_DIRECTORY)]
PatientReader = Annotated[Actor, require(Can.READ_FHIR_PATIENT)]


def base_url(request: Request) -> str:
    """Return the absolute base of the FHIR door."""
    return str(request.base_url).rstrip("/") + router.prefix


def _purpose(request: Request) -> str:
    return request.headers.get("x-purpose-of-use", "") or "fhir"


def _bad(name: str, reason: str) -> FhirError:
    return FhirError(400, Issue("invalid", "fhir.bad_search", BAD_SEARCH, {"name": name, "reason": reason}, (name,)))


class Params:
    """Search parameters of a GET query or a POST _search form, checked against what a type supports."""

    def __init__(self, items: list[tuple[str, str]], supported: set[str]) -> None:
        self.values: dict[str, str] = {}
        for name, value in items:
            if name in IGNORED:
                continue
            if name not in supported | {"_count", "_offset"}:
                raise FhirError(
                    400, Issue("not-supported", "fhir.unsupported_search", UNSUPPORTED_SEARCH, {"name": name}, (name,))
                )
            if name in self.values:
                raise _bad(name, "given more than once")
            self.values[name] = value
        self.count = self._int("_count", DEFAULT_COUNT, 0, MAX_COUNT)
        self.offset = self._int("_offset", 0, 0, 10_000_000)

    def _int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.values.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise _bad(name, f"an integer from {low} to {high}")
        return int(raw)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def token(self, name: str, system: str) -> str | None:
        """Return the value of a token ``system|value`` whose system must be the given one."""
        raw = self.values.get(name)
        if raw is None:
            return None
        sys_, sep, value = raw.partition("|")
        if not sep or sys_ != system or not DIGITS12.match(value):
            raise _bad(name, f"expected {system}|<12 digits>")
        return value

    def ident(self, name: str = "_id") -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        if not raw.isdigit() or len(raw) > 18:
            raise _bad(name, "a numeric id")
        return int(raw)

    def reference(self, name: str, rtype: str) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        value = raw[len(rtype) + 1 :] if raw.startswith(rtype + "/") else raw
        if not value.isdigit() or len(value) > 18:
            raise _bad(name, f"{rtype}/<id>")
        return int(value)

    def query(self, *, without: tuple[str, ...] = (), offset: int | None = None) -> str:
        shown = {k: v for k, v in self.values.items() if k not in without and k not in ("_offset", "_count")}
        shown["_count"] = str(self.count)
        shown["_offset"] = str(self.offset if offset is None else offset)
        return urlencode(shown)


def searchset(
    request: Request, rtype: str, params: Params, total: int, found: list[dict[str, Any]], *, hide: tuple[str, ...] = ()
) -> JSONResponse:
    """Return a searchset Bundle with self/next/previous links (``hide``: parameters never put in a link)."""
    base = base_url(request)
    link = [{"relation": "self", "url": f"{base}/{rtype}?{params.query(without=hide)}"}]
    if params.offset + params.count < total:
        link.append(
            {
                "relation": "next",
                "url": f"{base}/{rtype}?{params.query(without=hide, offset=params.offset + params.count)}",
            }
        )
    if params.offset > 0:
        back = max(0, params.offset - params.count)
        link.append({"relation": "previous", "url": f"{base}/{rtype}?{params.query(without=hide, offset=back)}"})
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": link,
            "entry": [
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                for r in found
            ],
        }
    )


def _found(rtype: str, rid: str, resource: dict[str, Any] | None) -> JSONResponse:
    if resource is None:
        raise FhirError(404, Issue("not-found", "core.not_found", NOT_FOUND, {"type": rtype, "id": rid}, (rtype,)))
    return fhir_response(resource)


def _numeric(rtype: str, rid: str) -> int:
    if not rid.isdigit() or len(rid) > 18:
        raise FhirError(404, Issue("not-found", "core.not_found", NOT_FOUND, {"type": rtype, "id": rid[:64]}, (rtype,)))
    return int(rid)


async def _items(request: Request) -> list[tuple[str, str]]:
    if request.method == "POST":
        form = await request.form()
        return [(k, str(v)) for k, v in form.multi_items()] + list(request.query_params.multi_items())
    return list(request.query_params.multi_items())


@router.get("/metadata", dependencies=[public()])
def metadata(request: Request) -> JSONResponse:
    """The CapabilityStatement."""
    return fhir_response(capability_statement(base_url(request)))


# --- Patient -----------------------------------------------------------------------------------------

PATIENT_PARAMS = {"identifier", "_id"}


@router.get("/Patient/{rid}")
def read_patient(rid: str, request: Request, session: SessionDep, actor: PatientReader) -> JSONResponse:
    """Read a Patient (the read is logged)."""
    now = clock.now()
    return _found(
        "Patient",
        rid,
        registry.read_patient(
            session=session,
            actor=actor,
            person_id=_numeric("Patient", rid),
            day=clock.today(),
            now=now,
            purpose=_purpose(request),
        ),
    )


async def _search_patients(request: Request, session: SessionDep, actor: Actor) -> JSONResponse:
    params = Params(await _items(request), PATIENT_PARAMS)
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


async def _search_organizations(request: Request, session: SessionDep) -> JSONResponse:
    params = Params(await _items(request), {"identifier", "name", "_id"})
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
        day=clock.today(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, "Organization", params, total, found)


@router.get("/Organization/{rid}", dependencies=READ)
def read_organization(rid: str, session: SessionDep) -> JSONResponse:
    """Read an Organization."""
    return _found(
        "Organization",
        rid,
        registry.read_organization(session=session, entity_id=_numeric("Organization", rid), day=clock.today()),
    )


@router.get("/Organization", dependencies=READ)
async def search_organizations(request: Request, session: SessionDep) -> JSONResponse:
    """Search Organizations by BIN, name or id."""
    return await _search_organizations(request, session)


@router.post("/Organization/_search", dependencies=READ)
async def search_organizations_post(request: Request, session: SessionDep) -> JSONResponse:
    """Search Organizations (form body)."""
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


async def _search_locations(request: Request, session: SessionDep) -> JSONResponse:
    params = Params(await _items(request), {"near", "organization", "_id"})
    total, found = registry.search_locations(
        session=session,
        near_point=_near(params.get("near")),
        entity_id=params.reference("organization", "Organization"),
        site_id=params.ident(),
        day=clock.today(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, "Location", params, total, found)


@router.get("/Location/{rid}", dependencies=READ)
def read_location(rid: str, session: SessionDep) -> JSONResponse:
    """Read a Location (a site)."""
    return _found("Location", rid, registry.read_location(session=session, site_id=_numeric("Location", rid)))


@router.get("/Location", dependencies=READ)
async def search_locations(request: Request, session: SessionDep) -> JSONResponse:
    """Search Locations near a point (lat|lon|distance|km), by organization or id."""
    return await _search_locations(request, session)


@router.post("/Location/_search", dependencies=READ)
async def search_locations_post(request: Request, session: SessionDep) -> JSONResponse:
    """Search Locations (form body)."""
    return await _search_locations(request, session)


async def _search_practitioners(request: Request, session: SessionDep) -> JSONResponse:
    params = Params(await _items(request), {"identifier", "_id"})
    total, found = registry.search_practitioners(
        session=session,
        iin=params.token("identifier", systems.IIN),
        practitioner_id=params.ident(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, "Practitioner", params, total, found, hide=("identifier",))


@router.get("/Practitioner/{rid}", dependencies=READ)
def read_practitioner(rid: str, session: SessionDep) -> JSONResponse:
    """Read a Practitioner."""
    return _found(
        "Practitioner", rid, registry.read_practitioner(session=session, practitioner_id=_numeric("Practitioner", rid))
    )


@router.get("/Practitioner", dependencies=READ)
async def search_practitioners(request: Request, session: SessionDep) -> JSONResponse:
    """Search Practitioners by IIN or id."""
    return await _search_practitioners(request, session)


@router.post("/Practitioner/_search", dependencies=READ)
async def search_practitioners_post(request: Request, session: SessionDep) -> JSONResponse:
    """Search Practitioners (form body)."""
    return await _search_practitioners(request, session)


async def _search_roles(request: Request, session: SessionDep) -> JSONResponse:
    params = Params(await _items(request), {"practitioner", "organization", "_id"})
    total, found = registry.search_roles(
        session=session,
        practitioner_id=params.reference("practitioner", "Practitioner"),
        entity_id=params.reference("organization", "Organization"),
        post_id=params.ident(),
        day=clock.today(),
        count=params.count,
        offset=params.offset,
    )
    return searchset(request, "PractitionerRole", params, total, found)


@router.get("/PractitionerRole/{rid}", dependencies=READ)
def read_role(rid: str, session: SessionDep) -> JSONResponse:
    """Read a PractitionerRole (a post)."""
    return _found(
        "PractitionerRole",
        rid,
        registry.read_role(session=session, post_id=_numeric("PractitionerRole", rid), day=clock.today()),
    )


@router.get("/PractitionerRole", dependencies=READ)
async def search_roles(request: Request, session: SessionDep) -> JSONResponse:
    """Search PractitionerRoles by practitioner, organization or id."""
    return await _search_roles(request, session)


@router.post("/PractitionerRole/_search", dependencies=READ)
async def search_roles_post(request: Request, session: SessionDep) -> JSONResponse:
    """Search PractitionerRoles (form body)."""
    return await _search_roles(request, session)


# --- Transaction ---------------------------------------------------------------------------------------


def trust_of(request: Request) -> Trust:
    """Return the trust anchors and CRLs of the app."""
    trust = getattr(request.app.state, "fhir_trust", None)
    return trust if isinstance(trust, Trust) else load_trust()


def transaction_response(doc_entries: int, accepted: Accepted, lang: str) -> dict[str, Any]:
    """Return the transaction-response Bundle: one entry per request entry, in order."""
    entries: list[dict[str, Any]] = [{"response": {"status": "200 OK"}} for _ in range(doc_entries)]
    for r in accepted.results:
        response: dict[str, Any] = {
            "status": "201 Created" if r.created else "200 OK",
            "location": f"{r.resource_type}/{r.resource_id}/_history/{r.version}",
            "etag": f'W/"{r.version}"',
        }
        if not r.created:
            response["outcome"] = outcome(
                [
                    Issue(
                        "duplicate",
                        "fhir.duplicate",
                        DUPLICATE,
                        {},
                        (f"Bundle.entry[{r.position}]",),
                        severity="information",
                    )
                ],
                lang,
            )
        entries[r.position] = {"response": response}
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


@router.post("", status_code=200)
@router.post("/", status_code=200, include_in_schema=False)
async def transaction(
    request: Request, session: SessionDep, actor: Annotated[Actor, require(Can.SUBMIT_FHIR_BUNDLE)]
) -> Response:
    """Ingest a signed transaction Bundle of one worker's results; refused bundles go to the dead-letter queue."""
    body = await request.body()
    now = clock.now()
    if len(body) > MAX_BODY:
        raise FhirError(413, Issue("too-costly", "fhir.too_large", TOO_LARGE, {"limit": MAX_BODY}, ("Bundle",)))
    try:
        accepted = inbound.ingest(session=session, actor=actor, body=body, trust=trust_of(request), now=now)
    except Rejected as exc:
        session.rollback()
        deadletter.record_rejection(session=session, actor=actor, body=body, rejected=exc, now=now)
        return fhir_response(outcome([f.issue for f in exc.findings], language(request)), exc.status)
    count = len(json.loads(body)["entry"])
    return fhir_response(transaction_response(count, accepted, language(request)))


# --- Interop operators (JSON API under /api/v1) ----------------------------------------------------------


class LetterOut(BaseModel):
    id: int
    bundle_id: int
    position: int | None
    resource_type: str
    resource_id: str
    code: str
    reason: str
    expression: str
    created_at: Any
    resolved_at: Any
    resolution: str | None
    bundle_state: str
    attempts: int
    account_id: int
    entity_id: int | None


class LettersOut(BaseModel):
    total: int
    items: list[LetterOut]


class ReplayOut(BaseModel):
    bundle_id: int
    state: str
    written: int


class SyncStatusOut(BaseModel):
    bundles_accepted: int
    bundles_rejected: int
    resources_ingested: int
    open_dead_letters: int
    resolved_dead_letters: int
    last_success_at: Any
    last_failure_at: Any
    oldest_open_failure_at: Any
    lag_seconds: float | None


@interop.get("/dead-letters", response_model=LettersOut)
def dead_letters(
    session: SessionDep,
    actor: Annotated[Actor, require(Can.WATCH_INTEROP)],
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> LettersOut:
    """List dead letters (open ones by default), oldest first; the Fund sees all, others their organization's."""
    total, rows = deadletter.list_letters(
        session=session, actor=actor, include_resolved=include_resolved, limit=limit, offset=offset
    )
    return LettersOut(
        total=total,
        items=[
            LetterOut(
                id=v.letter.id,
                bundle_id=v.bundle.id,
                position=v.letter.position,
                resource_type=v.letter.resource_type,
                resource_id=v.letter.resource_id,
                code=v.letter.code,
                reason=v.letter.reason,
                expression=v.letter.expression,
                created_at=v.letter.created_at,
                resolved_at=v.letter.resolved_at,
                resolution=v.letter.resolution,
                bundle_state=v.bundle.state,
                attempts=v.bundle.attempts,
                account_id=v.bundle.account_id,
                entity_id=v.bundle.entity_id,
            )
            for v in rows
        ],
    )


@interop.post("/bundles/{bundle_id}/replay", response_model=ReplayOut)
def replay(
    bundle_id: int, request: Request, session: SessionDep, actor: Annotated[Actor, require(Can.REPLAY_DEAD_LETTER)]
) -> Response:
    """Replay a refused bundle after the mapping or the data was fixed."""
    now = clock.now()
    try:
        accepted = deadletter.replay(
            session=session, actor=actor, bundle_id=bundle_id, trust=trust_of(request), now=now
        )
    except Rejected as exc:
        session.rollback()
        deadletter.record_replay_failure(session=session, actor=actor, bundle_id=bundle_id, rejected=exc, now=now)
        return problem(
            request,
            status=exc.status,
            code="fhir.replay_refused",
            template=REPLAY_REFUSED,
            errors_=[
                {"code": f.issue.emhana_code, "loc": list(f.issue.expression), "message": f.issue.english()}
                for f in exc.findings
            ],
        )
    return JSONResponse(
        ReplayOut(
            bundle_id=bundle_id, state="accepted", written=sum(1 for r in accepted.results if r.created)
        ).model_dump()
    )


@interop.post("/bundles/{bundle_id}/discard", status_code=204)
def discard(bundle_id: int, session: SessionDep, actor: Annotated[Actor, require(Can.REPLAY_DEAD_LETTER)]) -> Response:
    """Close a refused bundle's dead letters without replaying it."""
    deadletter.discard(session=session, actor=actor, bundle_id=bundle_id, now=clock.now())
    return Response(status_code=204)


@interop.get("/sync-status", response_model=SyncStatusOut)
def sync_status(session: SessionDep, actor: Annotated[Actor, require(Can.WATCH_INTEROP)]) -> SyncStatusOut:
    """Counts of accepted and refused bundles, ingested resources, dead letters, the last success and the lag."""
    s = deadletter.status(session=session, actor=actor, now=clock.now())
    return SyncStatusOut(**s.__dict__)


@interop.get("/code-map", response_model=list[CodeMapOut], dependencies=[require(Can.WATCH_INTEROP)])
def code_map(session: SessionDep, system: str | None = None) -> list[CodeMapOut]:
    """The code map: which LOINC, ICD-10, CVX or local code becomes which journal entry kind and item."""
    return list_codes(session=session, system=system)


@interop.put("/code-map", response_model=CodeMapOut)
def put_code_map(body: CodeMapIn, session: SessionDep, actor: Annotated[Actor, require(Can.MAP_CODES)]) -> CodeMapOut:
    """Add or change one mapping (the Fund); replaying dead letters then applies it."""
    return put_code(session=session, actor=actor, data=body, now=clock.now())


# --- Installation --------------------------------------------------------------------------------------


class _HideQuery(logging.Filter):
    """Drop the query string of /fhir requests from uvicorn's access log: a search may carry an IIN."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and args[2].startswith("/fhir/"):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def wants_fhir(request: Request) -> bool:
    """Tell whether a client speaks FHIR: it accepts or sends FHIR JSON, or names a ``_format``.

    Such a client gets authentication and routing errors as OperationOutcome; any other client of /fhir gets
    the registry's problem+json (FHIR's own errors are always OperationOutcome).
    """
    return (
        "fhir" in request.headers.get("accept", "")
        or "fhir" in request.headers.get("content-type", "")
        or "_format" in request.query_params
    )


def install(app: FastAPI) -> None:
    """Add the FHIR and interop routers, OperationOutcome errors for FHIR clients, and the log filter."""
    app.state.fhir_trust = load_trust()
    app.include_router(router)
    app.include_router(interop, prefix="/api/v1")
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _HideQuery) for f in access.filters):
        access.addFilter(_HideQuery())

    @app.exception_handler(FhirError)
    async def _fhir_error(request: Request, exc: FhirError) -> JSONResponse:
        return error_response(exc, language(request))

    @app.middleware("http")
    async def _outcomes(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if (
            not request.url.path.startswith(router.prefix)
            or not wants_fhir(request)
            or response.headers.get("content-type", "").split(";")[0] != PROBLEM_JSON
        ):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        try:
            prob = json.loads(body)
        except ValueError:
            prob = {}
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return JSONResponse(
            outcome_from_texts(
                response.status_code, str(prob.get("code", "core.error")), prob.get("messages") or {}, language(request)
            ),
            status_code=response.status_code,
            media_type=FHIR_JSON,
            headers=headers,
        )
