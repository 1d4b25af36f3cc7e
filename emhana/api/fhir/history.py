"""Versions of the directory resources at /fhir/R4: vread (``Type/{id}/_history/{vid}``), the history of a
resource (``Type/{id}/_history``) and of a type (``Type/_history``), newest first and paged, and the
``_lastUpdated`` search parameter. Organization, Location and PractitionerRole are public (the directory, no
IIN); Practitioner needs the directory reader's token. docs/fhir-versions.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from emhana.api.fhir.search import READ, Params, _bad, _found, _numeric, base_url, router, search_items
from emhana.api.fhir.versioned import versioned
from emhana.fhir import registry
from emhana.fhir.outcome import fhir_response
from emhana.fhir.versions import LOCATION, ORGANIZATION, PRACTITIONER, ROLE, Bounds, parse_bounds
from emhana.kernel import clock
from emhana.web.deps import ReadSessionDep, public

PUBLIC_READ = [public()]
LAST_UPDATED = "_lastUpdated"


def last_updated(params: Params) -> Bounds:
    """Return the ``_lastUpdated`` range of a search (repeated for a range; an empty one without it)."""
    try:
        return parse_bounds(params.all(LAST_UPDATED))
    except ValueError:
        raise _bad(LAST_UPDATED, "[eq|gt|ge|lt|le|sa|eb]YYYY[-MM[-DD[Thh:mm[:ss[.sss]][Z|+hh:mm]]]]") from None


def _history_bundle(
    request: Request, path: str, params: Params, total: int, versions: list[dict[str, Any]]
) -> JSONResponse:
    base = base_url(request)
    link = [{"relation": "self", "url": f"{base}/{path}?{params.query()}"}]
    if not params.totals_only and params.offset + params.count < total:  # _count=0: no next link to itself
        link.append({"relation": "next", "url": f"{base}/{path}?{params.query(offset=params.offset + params.count)}"})
    if params.offset > 0:
        back = max(0, params.offset - params.count)
        link.append({"relation": "previous", "url": f"{base}/{path}?{params.query(offset=back)}"})
    entries = []
    for r in versions:
        vid, first = r["meta"]["versionId"], r["meta"]["versionId"] == "1"
        entries.append(
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "request": {
                    "method": "POST" if first else "PUT",
                    "url": r["resourceType"] if first else f"{r['resourceType']}/{r['id']}",
                },
                "response": {
                    "status": "201 Created" if first else "200 OK",
                    "etag": f'W/"{vid}"',
                    "lastModified": r["meta"]["lastUpdated"],
                },
            }
        )
    return fhir_response({"resourceType": "Bundle", "type": "history", "total": total, "link": link, "entry": entries})


def _since(params: Params) -> Any:
    raw = params.get("_since")
    if raw is None:
        return None
    try:
        low = parse_bounds(["ge" + raw]).low
    except ValueError:
        raise _bad("_since", "an instant YYYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm)") from None
    return low[0] if low else None


def _install(rtype: str, dependencies: list[Any]) -> None:
    async def type_history(request: Request, session: ReadSessionDep) -> JSONResponse:
        params = Params(await search_items(request), {"_since"})
        found = registry.history(
            session=session,
            rtype=rtype,
            rid=None,
            since=_since(params),
            day=clock.today(),
            now=clock.now(),
            count=params.count,
            offset=params.offset,
        )
        assert found is not None
        return _history_bundle(request, f"{rtype}/_history", params, *found)

    async def instance_history(rid: str, request: Request, session: ReadSessionDep) -> JSONResponse:
        params = Params(await search_items(request), {"_since"})
        found = registry.history(
            session=session,
            rtype=rtype,
            rid=_numeric(rtype, rid),
            since=_since(params),
            day=clock.today(),
            now=clock.now(),
            count=params.count,
            offset=params.offset,
        )
        if found is None:
            return _found(rtype, rid, None)
        return _history_bundle(request, f"{rtype}/{rid}/_history", params, *found)

    def vread(rid: str, vid: str, request: Request, session: ReadSessionDep) -> Response:
        resource = registry.vread(
            session=session,
            rtype=rtype,
            rid=_numeric(rtype, rid),
            version_id=_numeric(rtype, vid),
            day=clock.today(),
            now=clock.now(),
        )
        _found(rtype, f"{rid}/_history/{vid}", resource)
        assert resource is not None
        return versioned(request, resource)

    what = "(public: the directory)" if dependencies is PUBLIC_READ else ""
    for fn, path, doc in (
        (type_history, f"/{rtype}/_history", f"The versions of every {rtype}, newest first {what}."),
        (instance_history, f"/{rtype}/{{rid}}/_history", f"The versions of a {rtype}, newest first {what}."),
        (vread, f"/{rtype}/{{rid}}/_history/{{vid}}", f"One version of a {rtype} as it was served {what}."),
    ):
        endpoint: Callable[..., Any] = fn
        endpoint.__doc__ = doc.replace(" .", ".")
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            dependencies=dependencies,
            name=f"{fn.__name__}_{rtype.lower()}",
            response_model=None,
        )


for _rtype, _deps in ((ORGANIZATION, PUBLIC_READ), (LOCATION, PUBLIC_READ), (ROLE, PUBLIC_READ), (PRACTITIONER, READ)):
    _install(_rtype, _deps)
