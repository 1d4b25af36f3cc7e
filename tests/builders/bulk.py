"""FHIR Bulk Data $export as a client does it with plain httpx (the TestClient is an httpx client): kick off, poll the
status URL, download the NDJSON files of the manifest and validate each line with the fhir.resources models."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from httpx2 import Response
from sqlalchemy import Engine

from emhana.fhir.bulk import run_due

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def kick_off(client: TestClient, path: str, headers: dict[str, str], params: dict[str, str] | None = None) -> Response:
    """Send a kick-off request (``Prefer: respond-async``) to a path under /fhir/R4."""
    return client.get(f"/fhir/R4{path}", params=params or {}, headers={**ASYNC, **headers})


def status_url(kicked: Response) -> str:
    """Return the status URL a kick-off answered (its Content-Location), as a path of this server."""
    assert kicked.status_code == 202, kicked.text
    return urlsplit(kicked.headers["content-location"]).path


def run(engine: Engine) -> int:
    """Run the export job in this process, as the worker would; return the resources exported."""
    return run_due(engine)


def finished(client: TestClient, url: str, headers: dict[str, str], engine: Engine) -> dict[str, Any]:
    """Poll a status URL until the export is done (running the job in between, no sleeping) and return the
    manifest."""
    for _ in range(3):
        r = client.get(url, headers=headers)
        if r.status_code == 200:
            assert r.headers["content-type"].startswith("application/json"), r.headers
            return r.json()  # type: ignore[no-any-return]
        assert r.status_code == 202, r.text
        assert r.headers["x-progress"] and int(r.headers["retry-after"]) > 0
        run(engine)
    raise AssertionError("the export did not finish")


def download(client: TestClient, manifest: dict[str, Any], headers: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Download every file of a manifest (absolute URLs, with the same token) and return the resources by type,
    each line checked to be one valid FHIR resource of the type the manifest names."""
    found: dict[str, list[dict[str, Any]]] = {}
    for out in manifest["output"]:
        r = client.get(out["url"], headers={**headers, "Accept": "application/fhir+ndjson"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        lines = r.content.decode().splitlines()
        assert len(lines) == out["count"] and r.content.endswith(b"\n")
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == out["type"]
            get_fhir_model_class(out["type"]).model_validate(resource)
            found.setdefault(out["type"], []).append(resource)
    return found
