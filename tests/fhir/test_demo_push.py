"""What a vendor does with a fresh demo: seed it as `emhana demo` (and so `make demo`) does, serve it on the demo
clock, copy the push command the banner prints, run it (examples/mis_client.py in a subprocess, from the
repository) and find the results in the worker's book, read as the worker reads it. A second run of the same
command is a retry: the resource ids are derived from the worker, the code and the date, so nothing is added.

The demo is SQLite whatever database the other tests use: its PKCS#12 files and the client's key live in the folder
beside the demo database, as `make demo` writes them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders.mis_demo import Demo, printed_command, run, serve_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve_demo(tmp_path_factory.mktemp("demo-push"), "uvicorn-demo-push")


def book_entries(demo: Demo) -> list[dict[str, Any]]:
    """The demo citizen's book as she reads it (/api/v1/medbook/me)."""
    token = httpx.post(f"{demo.base}/api/v1/auth/token", data={"username": "demo-citizen", "password": "demo"})
    assert token.status_code == 200, token.text
    book = httpx.get(
        f"{demo.base}/api/v1/medbook/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert book.status_code == 200, book.text
    entries: list[dict[str, Any]] = book.json()["entries"]
    return entries


def pushed(entries: list[dict[str, Any]], day: dt.date) -> list[tuple[str, str]]:
    return sorted(
        (str(e["item_code"]), str(e["author_name"]))
        for e in entries
        if e.get("source") == "mis" and e.get("performed_on") == day.isoformat()
    )


def test_the_banner_names_the_demo_clinician_the_citizen_and_the_files(demo: Demo) -> None:
    text = "\n".join(demo.banner)
    assert "MIS integration" in text
    argv = printed_command(demo, "with demo-mis-client's bearer token")
    assert argv[argv.index("--base") + 1] == f"{demo.base}/fhir/R4"
    assert Path(argv[argv.index("--p12") + 1]).name == "demo-clinician.p12"
    assert re.fullmatch(r"\d{12}", argv[argv.index("--iin") + 1])


def test_the_printed_push_command_writes_the_results_into_the_workers_book_once(demo: Demo) -> None:
    code, out = run(printed_command(demo, "with demo-mis-client's bearer token"))
    assert code == 0, out
    assert out["type"] == "transaction-response", out
    # 201 the first time; "already received" when the client application's route pushed the same results before.
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses in (["201 Created", "201 Created", "200 OK"], ["200 OK", "200 OK", "200 OK"]), out
    after = pushed(book_entries(demo), demo.day)
    assert [item for item, _ in after] == ["fluorography", "syphilis"]
    assert all("Demo mis client" in author for _, author in after), after  # the signer, through the MIS
    # A retry sends the same ids: the server answers "already received" and the book does not grow.
    code, again = run(printed_command(demo, "with demo-mis-client's bearer token"))
    assert code == 0, again
    assert [e["response"]["status"] for e in again["entry"]] == ["200 OK", "200 OK", "200 OK"], again
    assert pushed(book_entries(demo), demo.day) == after


def test_the_banner_prints_the_client_application_route_with_its_registered_key(demo: Demo) -> None:
    argv = printed_command(demo, "as the client application demo-mis-app")
    key = Path(argv[argv.index("--key") + 1])
    assert key.exists() and key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    jwks = json.loads((key.parent / "demo-mis-app.jwks.json").read_text(encoding="utf-8"))
    assert [k["kid"] for k in jwks["keys"]] == [argv[argv.index("--kid") + 1]]
    assert all("d" not in k for k in jwks["keys"])


def test_the_printed_client_application_command_pushes_by_smart_backend_services(demo: Demo) -> None:
    """The same push as the demo's client application: a token by SMART Backend Services (examples/backend_auth.py,
    a JWT signed with the key in the demo folder), then the bundle; its results join the book once."""
    code, out = run(printed_command(demo, "as the client application demo-mis-app"))
    # The demo's clock may stand on another day than the machine's (no campaign period open today): the token
    # endpoint reads the assertion's iat/exp, stamped with the machine's time, on the machine's clock.
    assert code == 0, out
    assert out["type"] == "transaction-response", out
    statuses = [e["response"]["status"] for e in out["entry"]]
    # The same MIS as the bearer-token route (demo-mis-client): after it, "already received", nothing added.
    assert statuses in (["201 Created", "201 Created", "200 OK"], ["200 OK", "200 OK", "200 OK"]), out
    assert [item for item, _ in pushed(book_entries(demo), demo.day)] == ["fluorography", "syphilis"]
