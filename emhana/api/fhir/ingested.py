"""FHIR R4 read back of what MIS sent (issue 17): read, vread, history and search of Observation, DiagnosticReport,
Immunization and Condition (emhana.fhir.ingested; docs/fhir-readback.md).

The routes name each type (no ``/{type}/...`` pattern), so they never shadow another type's routes, and the
``_history`` routes come before the read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.api.fhir.search import Params, _bad, _purpose, base_url, router, search_items, searchset
from emhana.api.fhir.versioned import etag, versioned
from emhana.fhir import ingested
from emhana.fhir.outcome import BAD_SEARCH, NOT_FOUND, FhirError, Issue, fhir_response
from emhana.kernel import clock
from emhana.web.deps import SessionDep, require

Reader = Annotated[Actor, require(Can.READ_FHIR_MEDBOOK)]
UPDATED = "_lastUpdated"


def _updated(params: Params) -> list[ingested.Updated]:
    try:
        return [ingested.parse_updated(v) for v in params.all(UPDATED)]
    except ValueError:
        raise _bad(UPDATED, "[eq|ge|gt|le|lt]YYYY[-MM[-DD[Thh:mm[:ss[.f]][Z|+hh:mm]]]]") from None


def _not_found(rtype: str, rid: str) -> FhirError:
    return FhirError(404, Issue("not-found", "core.not_found", NOT_FOUND, {"type": rtype, "id": rid[:64]}, (rtype,)))


def _found(request: Request, session: SessionDep, actor: Actor, rtype: str, rid: str) -> ingested.Found:
    found = ingested.read(
        session=session, actor=actor, rtype=rtype, rid=rid, purpose=_purpose(request), now=clock.now()
    )
    if found is None:
        raise _not_found(rtype, rid)
    return found


def _history_bundle(request: Request, params: Params, found: ingested.Found) -> dict[str, Any]:
    """Return the history Bundle of a resource, newest first, paged by ``_count`` and ``_offset``."""
    base = base_url(request)
    here = f"{base}/{found.rtype}/{found.shown_id}/_history"
    oldest = len(found.versions) - 1
    entries = []
    for i, resource in enumerate(found.versions):
        if not params.offset <= i < params.offset + params.count:
            continue
        meta = resource["meta"]
        created = i == oldest
        entries.append(
            {
                "fullUrl": f"{base}/{found.rtype}/{found.shown_id}",
                "resource": resource,
                "request": {
                    "method": "POST" if created else "PUT",
                    "url": found.rtype if created else f"{found.rtype}/{found.shown_id}",
                },
                "response": {
                    "status": "201 Created" if created else "200 OK",
                    "location": f"{found.rtype}/{found.shown_id}/_history/{meta['versionId']}",
                    "etag": etag(resource),
                    "lastModified": meta["lastUpdated"],
                },
            }
        )
    link = [{"relation": "self", "url": f"{here}?{params.query()}"}]
    if params.count and params.offset + params.count < len(found.versions):
        link.append({"relation": "next", "url": f"{here}?{params.query(offset=params.offset + params.count)}"})
    if params.count and params.offset > 0:
        back = max(0, params.offset - params.count)
        link.append({"relation": "previous", "url": f"{here}?{params.query(offset=back)}"})
    return {"resourceType": "Bundle", "type": "history", "total": len(found.versions), "link": link, "entry": entries}


def _search_params(rtype: str) -> set[str]:
    return {"patient", "_id", UPDATED, *ingested.SEARCH_PARAMS[rtype]}


def _person(params: Params) -> int | None:
    patient = params.reference("patient", "Patient")
    subject = params.reference("subject", "Patient")
    if patient is not None and subject is not None and patient != subject:
        raise _bad("subject", "names another Patient than patient")
    return patient if patient is not None else subject


async def _search(request: Request, session: SessionDep, actor: Actor, rtype: str) -> JSONResponse:
    params = Params(await search_items(request), _search_params(rtype), repeatable={UPDATED})
    person_id, rid = _person(params), params.get("_id")
    if person_id is None and rid is None:
        raise FhirError(
            400,
            Issue(
                "required",
                "fhir.bad_search",
                BAD_SEARCH,
                {"name": "patient", "reason": "patient, subject or _id is required"},
                ("patient",),
            ),
        )
    total, found = ingested.search(
        session=session,
        actor=actor,
        rtype=rtype,
        person_id=person_id,
        rid=rid,
        updated=_updated(params),
        count=params.count,
        offset=params.offset,
        purpose=_purpose(request),
        now=clock.now(),
    )
    return searchset(request, rtype, params, total, found)


def _install(rtype: str) -> None:
    """Add the read back routes of one type: vread and history before the read, then search."""

    def vread(rid: str, vid: str, request: Request, session: SessionDep, actor: Reader) -> Response:
        found = _found(request, session, actor, rtype, rid)
        version = next((v for v in found.versions if v["meta"]["versionId"] == vid), None)
        if version is None:
            raise _not_found(rtype, f"{rid}/_history/{vid}")
        return versioned(request, version)

    def history(rid: str, request: Request, session: SessionDep, actor: Reader) -> JSONResponse:
        params = Params(list(request.query_params.multi_items()), ())  # paging only: anything else is refused
        return fhir_response(_history_bundle(request, params, _found(request, session, actor, rtype, rid)))

    def read(rid: str, request: Request, session: SessionDep, actor: Reader) -> Response:
        return versioned(request, _found(request, session, actor, rtype, rid).versions[0])

    async def search(request: Request, session: SessionDep, actor: Reader) -> JSONResponse:
        return await _search(request, session, actor, rtype)

    routes: list[tuple[str, str, Callable[..., Any], str]] = [
        ("GET", "/{rid}/_history/{vid}", vread, f"A version of an ingested {rtype} as received (vread)."),
        ("GET", "/{rid}/_history", history, f"Every version of an ingested {rtype}, newest first."),
        ("GET", "/{rid}", read, f"The latest version of an ingested {rtype} as received (the read is logged)."),
        ("GET", "", search, f"Search ingested {rtype} resources by patient, _id and _lastUpdated."),
        ("POST", "/_search", search, f"Search ingested {rtype} resources (form body)."),
    ]
    for method, path, endpoint, doc in routes:
        endpoint.__doc__ = doc
        router.add_api_route(f"/{rtype}{path}", endpoint, methods=[method], name=f"{endpoint.__name__}_{rtype.lower()}")


for _rtype in ingested.TYPES:
    _install(_rtype)
