"""The shared part of the FHIR door: its router, search parameters, searchset Bundles and reads by id."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.fhir.outcome import (
    BAD_SEARCH,
    NOT_FOUND,
    UNSUPPORTED_SEARCH,
    FhirError,
    Issue,
    fhir_response,
)
from emhana.web.deps import require
from emhana.web.hosts import public_base

router = APIRouter(prefix="/fhir/R4", tags=["fhir"])

IGNORED = {"_format", "_pretty", "_total", "_summary", "lang"}
DEFAULT_COUNT, MAX_COUNT = 20, 100
MAX_BODY = 5 * 1024 * 1024
DIGITS12 = re.compile(r"^\d{12}$")

READ = [require(Can.READ_FHIR_DIRECTORY)]
PatientReader = Annotated[Actor, require(Can.READ_FHIR_PATIENT)]


def base_url(request: Request) -> str:
    """Return the absolute base of the FHIR door, from the configured public address (never a client's Host)."""
    return public_base(request) + router.prefix


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
    request: Request,
    rtype: str,
    params: Params,
    total: int,
    found: list[dict[str, Any]],
    *,
    hide: tuple[str, ...] = (),
    extensions: Mapping[str, list[dict[str, Any]]] | None = None,
) -> JSONResponse:
    """Return a searchset Bundle with self/next/previous links (``hide``: parameters never put in a link);
    ``extensions`` gives, by resource id, the ``entry.search.extension`` of a match (e.g. its distance)."""
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
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": _search(r, extensions)}
                for r in found
            ],
        }
    )


def _search(resource: dict[str, Any], extensions: Mapping[str, list[dict[str, Any]]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": "match"}
    if extensions and extensions.get(str(resource["id"])):
        out["extension"] = extensions[str(resource["id"])]
    return out


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
