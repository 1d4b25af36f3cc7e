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
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
POPULATION = 500  # the same code path as `make demo`'s 10,000, smaller


@dataclass(frozen=True)
class Demo:
    base: str
    day: dt.date
    banner: list[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Seed and serve a demo exactly as `emhana demo` does, on its own clock."""
    from emhana.app import create_app
    from emhana.devtools.demo import banner, demo_day, seed, server_settings, start_clock
    from emhana.devtools.generator import run_with_progress
    from tests.builders.servers import serve

    folder: Path = tmp_path_factory.mktemp("demo-push")
    url = f"sqlite:///{folder / 'emhana.db'}"
    day = demo_day(url)
    seed(url, population=POPULATION, seed_value=1, generate=run_with_progress, today=day)
    with start_clock(day):
        with serve(create_app(server_settings(url)), "uvicorn-demo-push") as base:
            yield Demo(base, day, banner(url, base, day))


def printed_command(demo: Demo, route: str) -> list[str]:
    """The banner's push command of a route, as a person copies it; the repository's interpreter stands for
    `.venv/bin/python` when the tests run from another environment."""
    found = [line for line in demo.banner if line.strip().startswith(f"push {route}")]
    assert len(found) == 1, "\n".join(demo.banner)
    argv = shlex.split(found[0].split(": ", 1)[1])
    assert argv[:2] == [".venv/bin/python", "examples/mis_client.py"], argv
    if not (ROOT / argv[0]).exists():
        argv[0] = sys.executable
    return argv


def run(argv: list[str]) -> tuple[int, Any]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT)
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        return done.returncode, {"stdout": done.stdout, "stderr": done.stderr[-3000:]}


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
