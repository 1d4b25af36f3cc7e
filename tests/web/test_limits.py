"""Bounded work per request: a body over its route's limit is refused (413) before it is read, uploads have
their own limit, and JSON nested too deep is a 400 on every door, before any parser recurses into it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from fastapi import FastAPI, params
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from emhana.accounts.roles import Role
from emhana.kernel.config import Settings
from emhana.web import limits
from emhana.web.deps import iter_routes
from emhana.web.limits import json_too_deep, limit_for

PROBLEM = "application/problem+json"
MB = 1024 * 1024


class Upload:
    """An ASGI client that sends a body in chunks and counts how many the app took."""

    def __init__(self, chunks: int, chunk: int = MB) -> None:
        self.left = chunks
        self.chunk = b"{" + b" " * (chunk - 1)
        self.taken = 0
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> MutableMapping[str, Any]:
        if self.left == 0:
            return {"type": "http.disconnect"}
        self.left -= 1
        self.taken += 1
        return {"type": "http.request", "body": self.chunk, "more_body": self.left > 0}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    def status(self) -> int:
        return int(next(m["status"] for m in self.sent if m["type"] == "http.response.start"))

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(b"".join(m.get("body", b"") for m in self.sent))
        return data


def scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.5", 40000),
        "server": ("testserver", 80),
        "state": {},
    }


def test_a_30_mb_anonymous_body_is_refused_before_a_byte_is_read(app: FastAPI) -> None:
    """It used to be read and parsed whole (about 1 GB of memory) before the answer 401."""
    client = Upload(30)
    headers = {"content-type": "application/json", "content-length": str(30 * MB)}
    asyncio.run(app(scope("/api/v1/persons", headers), client.receive, client.send))
    assert client.status() == 413 and client.taken == 0
    body = client.body()
    assert body["code"] == "core.body_too_large" and set(body["messages"]) == {"kk", "ru", "en"}
    assert "1" in body["messages"]["en"]


@pytest.mark.parametrize("kind", ["application/json", "multipart/form-data; boundary=x", "text/plain"])
def test_a_body_without_a_length_is_cut_at_the_first_chunk_too_many(app: FastAPI, kind: str) -> None:
    client = Upload(30)
    asyncio.run(app(scope("/api/v1/auth/token", {"content-type": kind}), client.receive, client.send))
    assert client.status() == 413 and client.body()["code"] == "core.body_too_large"
    assert client.taken <= 2  # 1 MB allowed: the second chunk is one too many


def test_uploads_have_their_own_larger_limit(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    assert limit_for("/api/v1/attachment/applications/written", settings) == settings.max_upload_bytes
    assert limit_for("/attachment/record", settings) == settings.max_upload_bytes
    assert limit_for("/api/v1/verify", settings) < 10 * MB  # a phone photo, anonymous
    assert limit_for("/fhir/R4", settings) == settings.max_fhir_body_bytes
    assert limit_for("/api/v1/persons", settings) == settings.max_body_bytes == MB
    # A 3 MB scan reaches the route (which answers 401 to an anonymous caller) instead of a 413.
    with TestClient(app) as c:
        scan = [("files", ("scan.pdf", b"%PDF" + b"0" * (3 * MB), "application/pdf"))]
        assert c.post("/api/v1/attachment/applications/written", files=scan).status_code == 401
    # ... while 40 MB is too much even there.
    client = Upload(40)
    headers = {"content-type": "multipart/form-data; boundary=x", "content-length": str(40 * MB)}
    asyncio.run(app(scope("/api/v1/attachment/applications/written", headers), client.receive, client.send))
    assert client.status() == 413 and client.taken == 0


def test_every_route_that_takes_files_has_the_upload_limit(app: FastAPI) -> None:
    takes_files = {
        path
        for path, methods, dep in iter_routes(app)
        if any(isinstance(p.field_info, params.File) for p in dep.body_params)
    }
    assert takes_files, "no route declares a file?"
    assert takes_files <= set(limits.UPLOADS), takes_files - set(limits.UPLOADS)


def test_413_on_the_fhir_door_is_an_operation_outcome(client: TestClient) -> None:
    resp = client.post("/fhir/R4", content=b"{" + b" " * (6 * MB), headers={"content-type": "application/fhir+json"})
    assert resp.status_code == 413
    issue = resp.json()["issue"][0]
    assert resp.json()["resourceType"] == "OperationOutcome" and issue["code"] == "too-costly"
    assert issue["details"]["coding"][0]["code"] == "core.body_too_large"


# --- deep JSON ---------------------------------------------------------------------------------------------


DEEP = b"[" * 50_000 + b"]" * 50_000


def test_deep_json_to_the_fhir_transaction_is_a_400(client: TestClient, auth: Callable[..., dict[str, str]]) -> None:
    """50,000-deep JSON to POST /fhir/R4 used to be a 500 (RecursionError)."""
    headers = {**auth(Role.MIS_CLIENT), "content-type": "application/fhir+json"}
    for body in (DEEP, b'{"resourceType": "Bundle", "entry": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
        resp = client.post("/fhir/R4", content=body, headers=headers)
        assert resp.status_code == 400, resp.text[:300]
        outcome = resp.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["details"]["coding"][0]["code"] == "core.too_deep"
    # Whatever the client calls it: the transaction parses its body as JSON anyway.
    assert client.post("/fhir/R4", content=DEEP, headers={**headers, "content-type": "text/plain"}).status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/persons", "/api/v1/verify", "/api/v1/auth/token"])
def test_deep_json_to_the_json_api_is_a_coded_400(client: TestClient, path: str) -> None:
    resp = client.post(path, content=DEEP, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.headers["content-type"].startswith(PROBLEM)
    assert resp.json()["code"] == "core.too_deep" and set(resp.json()["messages"]) == {"kk", "ru", "en"}


def test_json_nested_deep_inside_a_form_field_is_a_400(
    client: TestClient, auth: Callable[..., dict[str, str]], seeded_entity: int
) -> None:
    """The written application carries its JSON in a form field, out of the middleware's sight: the
    RecursionError its parser raises is a 400 too."""
    resp = client.post(
        "/api/v1/attachment/applications/written",
        headers=auth(Role.REGISTRAR, entity_id=seeded_entity),
        data={"application": (b"[" * 100_000).decode()},
        files=[("files", ("scan.pdf", b"%PDF-1.4", "application/pdf"))],
    )
    assert resp.status_code == 400 and resp.json()["code"] == "core.too_deep"


def test_json_as_deep_as_allowed_passes(client: TestClient) -> None:
    body: dict[str, Any] = {"text": "x"}
    for _ in range(60):
        body = {"a": body}
    resp = client.post("/api/v1/verify", json=body)
    assert resp.status_code == 422 and resp.json()["code"] == "core.invalid_input"  # the route read it: no text


def _nest(depth: int) -> Any:
    value: Any = '[{]}\\"['  # brackets and escaped quotes inside strings do not count
    for i in range(depth):
        value = [value] if i % 2 else {"k[": value, "n": [1, {}]}
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(
    st.recursive(
        st.none() | st.text(alphabet='[]{}"\\ab', max_size=5),
        lambda c: st.lists(c) | st.dictionaries(st.text(alphabet='[]{}"\\', max_size=3), c),
        max_leaves=40,
    )
)
def test_the_depth_check_agrees_with_the_parsed_depth(value: Any) -> None:
    text = json.dumps(value).encode()
    depth = _depth(value)
    for limit in (0, 1, 2, 3, 5):
        assert json_too_deep(text, limit) == (depth > limit), (text, limit)


def test_the_depth_check_on_chosen_texts() -> None:
    deep = _nest(70)
    depth, text = _depth(deep), json.dumps(deep).encode()
    assert depth > 64 and not json_too_deep(text, depth) and json_too_deep(text, depth - 1)
    assert json_too_deep(b"[" * 65, 64)  # unterminated: a parser recurses before it finds the end
    assert not json_too_deep(b"]" + b"[" * 100, 64)  # malformed at once: a parser stops at the first byte
    assert not json_too_deep(b'"' + b"[" * 100, 64)  # all inside an unterminated string
    assert not json_too_deep(b'{"a": "' + b"[" * 100 + b'"}', 64)
