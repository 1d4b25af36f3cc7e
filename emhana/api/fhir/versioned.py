"""Versioned reads of the FHIR door: the ETag and Last-Modified of a resource from its ``meta``, and
``If-None-Match`` answered with 304 Not Modified (FHIR R4 http.html#versioning)."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from emhana.fhir.outcome import fhir_response


def etag(resource: dict[str, Any]) -> str | None:
    """Return the weak ETag of a resource's ``meta.versionId`` (``W/"3"``), or None without one."""
    version = (resource.get("meta") or {}).get("versionId")
    return f'W/"{version}"' if version else None


def matches(header: str, tag: str) -> bool:
    """Tell whether an If-None-Match header names the tag (weak comparison, ``*`` matches any)."""
    wanted = {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
    return "*" in wanted or tag.removeprefix("W/") in wanted


def versioned(request: Request, resource: dict[str, Any], status: int = 200) -> Response:
    """Return the resource with its ETag and Last-Modified, or 304 when the client already holds that version."""
    tag = etag(resource)
    headers: dict[str, str] = {}
    if tag is not None:
        headers["ETag"] = tag
        if matches(request.headers.get("if-none-match", ""), tag):
            return Response(status_code=304, headers=headers)
    updated = (resource.get("meta") or {}).get("lastUpdated")
    if updated:
        when = dt.datetime.fromisoformat(str(updated).replace("Z", "+00:00")).astimezone(dt.UTC)
        headers["Last-Modified"] = format_datetime(when, usegmt=True)
    response: JSONResponse = fhir_response(resource, status, headers)
    return response
