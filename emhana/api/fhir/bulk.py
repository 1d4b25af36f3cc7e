"""FHIR Bulk Data ``$export`` at /fhir/R4 (docs/bulk-export.md): the kick-off at system and group level, the
status (and its DELETE), the NDJSON files, and the Group of an organization. The use cases are in
``emhana.fhir.bulk``; the run happens in the background job ``fhir_bulk_export`` (emhana/jobs/catalogue.py)."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.api.fhir.search import _purpose, base_url, router
from emhana.fhir import bulk
from emhana.fhir.outcome import FhirError, Issue, fhir_response
from emhana.kernel import clock
from emhana.web.deps import SessionDep, require

Exporter = Annotated[Actor, require(Can.READ_FHIR_DIRECTORY)]


def _number(raw: str, gone: FhirError) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise gone
    return int(raw)


def _request_url(request: Request) -> str:
    """Return the kick-off URL for the manifest, with the export's own parameters only (a parameter ignored
    under lenient handling is not kept)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in bulk.PARAMETERS]
    return base_url(request) + request.url.path.removeprefix(router.prefix) + (f"?{urlencode(kept)}" if kept else "")


def _kick_off(request: Request, session: SessionDep, actor: Actor, level: str, group_id: int | None) -> Response:
    now = clock.now()
    export = bulk.kick_off(
        session=session,
        actor=actor,
        level=level,
        group_id=group_id,
        items=list(request.query_params.multi_items()),
        prefer=request.headers.get("prefer", ""),
        accept=request.headers.get("accept", ""),
        purpose=_purpose(request) if "x-purpose-of-use" in request.headers else "",
        request=_request_url(request),
        now=now,
    )
    return Response(status_code=202, headers={"Content-Location": f"{base_url(request)}/$export-status/{export.id}"})


@router.get("/$export")
def export_system(request: Request, session: SessionDep, actor: Exporter) -> Response:
    """Kick off a system-level export (the Fund: the directory), with ``Prefer: respond-async``."""
    return _kick_off(request, session, actor, bulk.SYSTEM, None)


@router.get("/Group/{entity_id}/$export")
def export_group(entity_id: str, request: Request, session: SessionDep, actor: Exporter) -> Response:
    """Kick off the export of an organization's Group (its population and their books' entries)."""
    group_id = _number(entity_id, bulk.group_not_found(entity_id))
    return _kick_off(request, session, actor, bulk.GROUP, group_id)


@router.get("/Group/{entity_id}")
def read_group(entity_id: str, session: SessionDep, actor: Exporter) -> JSONResponse:
    """Read an organization's Group: its size and managing organization, not its members."""
    group_id = _number(entity_id, bulk.group_not_found(entity_id))
    return fhir_response(bulk.read_group(session=session, actor=actor, group_id=group_id, day=clock.today()))


@router.get("/$export-status/{export_id}")
def export_status(export_id: str, request: Request, session: SessionDep, actor: Exporter) -> Response:
    """The status of the caller's export: 202 with X-Progress while it runs, 200 with the manifest when done,
    500 with an OperationOutcome when it failed, 404 when cancelled, expired, unknown or someone else's."""
    now = clock.now()
    export = bulk.own_export(session=session, actor=actor, export_id=_number(export_id, bulk.gone(export_id)), now=now)
    if export.state in ("queued", "running"):
        return Response(
            status_code=202,
            headers={"X-Progress": export.progress or export.state, "Retry-After": str(bulk.RETRY_AFTER)},
        )
    if export.state == "failed":
        issue = Issue("exception", "fhir.export_failed", bulk.EXPORT_FAILED, {"reason": export.error or ""})
        raise FhirError(500, issue)
    headers = {}
    expires = bulk.aware(export.expires_at)
    if expires is not None:
        headers["Expires"] = format_datetime(expires, usegmt=True)
    return JSONResponse(bulk.manifest(session, export, base_url(request)), headers=headers)


@router.delete("/$export-status/{export_id}")
def cancel_export(export_id: str, session: SessionDep, actor: Exporter) -> Response:
    """Cancel the caller's export and delete its files (202)."""
    bulk.cancel(session=session, actor=actor, export_id=_number(export_id, bulk.gone(export_id)), now=clock.now())
    return Response(status_code=202)


@router.get("/$export-file/{export_id}/{file_id}")
def export_file(export_id: str, file_id: str, session: SessionDep, actor: Exporter) -> Response:
    """One NDJSON file of the caller's finished export, with the token of the account that asked for it."""
    gone = bulk.gone(export_id)
    data = bulk.file_data(
        session=session,
        actor=actor,
        export_id=_number(export_id, gone),
        file_id=_number(file_id, gone),
        now=clock.now(),
    )
    return Response(data, media_type=bulk.NDJSON)
