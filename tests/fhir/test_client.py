"""The reference MIS client (examples/mis_client.py, fhirpy) against a running server: uvicorn in a
subprocess on a free port over a migrated scratch database (PostgreSQL when the tests run on it)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from emhana.testing.databases import migrated_schema, postgres_test_url
from emhana.trust.keys import pki
from tests.builders.fhir import make_pki, make_signer, seed_clinic
from tests.builders.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "examples" / "mis_client.py"
PASSWORD = "p12-secret"


@dataclass(frozen=True)
class Live:
    base: str
    token: str
    fund_token: str
    worker_iin: str
    author_iin: str
    p12: Path


def _seed(url: str, author_iin: str) -> tuple[str, str, str]:
    """Write clinic A (issuing books, with its MIS account), the worker's book and the author; return tokens."""
    from emhana.accounts.service import issue_token
    from emhana.facilities.models import Practitioner
    from emhana.identity.models import Person
    from emhana.identity.rules import Sex, make_iin
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from emhana.medbook.models import MedicalBook

    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            clinic = seed_clinic(s, mis_name="Damu MIS")
            entity, rt_id, mis, fund = clinic.entity_id, clinic.therapist_id, clinic.mis, clinic.fund
            iin = make_iin(dt.date(1992, 7, 14), Sex.FEMALE, 77) or ""
            person = Person(
                iin=iin,
                surname="Серікова",
                given_name="Айым",
                birth_date=dt.date(1992, 7, 14),
                sex="female",
                category="citizen",
            )
            s.add(person)
            s.add(Practitioner(iin=author_iin, surname="Ахметова", given_name="Динара", specialties="therapist"))
            s.flush()
            s.add(
                MedicalBook(
                    person_id=person.id,
                    entity_id=entity,
                    issued_by=rt_id,
                    issued_on=dt.date(2025, 2, 1),
                    language="ru",
                    profession="повар",
                    position="повар",
                    workplace="Столовая",
                    employer_bin="940140000385",
                    group_code="catering",
                )
            )
            token = issue_token(session=s, actor=mis, ttl=dt.timedelta(hours=1))
            fund_token = issue_token(session=s, actor=fund, ttl=dt.timedelta(hours=1))
        return token, fund_token, iin
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("fhir-live")
    base = postgres_test_url() or f"sqlite:///{tmp / 'emhana.db'}"
    demo = make_pki()
    author_iin = "800102400117"
    signer = make_signer(demo, author_iin)
    trust = tmp / "trust"
    trust.mkdir()
    (trust / "root.pem").write_bytes(demo.root.pem())
    (trust / "intermediate.pem").write_bytes(demo.intermediate.pem())
    (trust / "intermediate.crl").write_bytes(demo.crl.public_bytes(serialization.Encoding.PEM))
    p12 = tmp / "clinician.p12"
    p12.write_bytes(pki.to_pkcs12("clinician", pki.Issued(signer.key, signer.cert), list(signer.chain), PASSWORD))
    with migrated_schema(base, "fhirlive") as url:
        token, fund_token, iin = _seed(url, author_iin)
        port = free_port()
        env = {
            **os.environ,
            "EMHANA_DATABASE_URL": url,
            "EMHANA_SIGNATURE_ANCHORS": str(trust / "root.pem"),
            "EMHANA_SIGNATURE_INTERMEDIATES": str(trust / "intermediate.pem"),
            "EMHANA_SIGNATURE_CRLS": str(trust / "intermediate.crl"),
            "EMHANA_SECRET_KEY": "live-fhir-5-3bCjPXJLvNszHTyUrB5DbrDrDwrubrJIfRSarLsZ6XFcjJRoiQ",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "emhana.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base_url = f"http://127.0.0.1:{port}/fhir/R4"
        try:
            deadline = time.monotonic() + 120  # a loaded machine starts the app slowly
            while True:
                try:
                    if httpx.get(f"{base_url}/metadata", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    server.terminate()  # before reading its stderr to the end, which a live server never ends
                    _, err = server.communicate(timeout=15)
                    raise RuntimeError(f"uvicorn did not start: {(err or b'').decode()[-2000:]}")
                time.sleep(0.2)
            yield Live(base_url, token, fund_token, iin, author_iin, p12)
        finally:
            server.terminate()
            server.wait(timeout=15)


def run_client(live: Live, *args: str, exit_code: int = 0) -> object:
    done = subprocess.run(
        # --token=...: a token may start with "-", which argparse would take for an option
        [sys.executable, str(CLIENT), "--base", live.base, f"--token={live.token}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == exit_code, done.stderr
    return json.loads(done.stdout)


def test_the_reference_client_reads_the_worker_and_nearby_clinics(live: Live) -> None:
    patient = run_client(live, "patient", "--iin", live.worker_iin)
    assert isinstance(patient, dict) and patient["resourceType"] == "Patient"
    assert patient["identifier"][0]["value"] == live.worker_iin
    near = run_client(live, "near", "--lat", "51.128", "--lon", "71.4304", "--km", "5")
    assert isinstance(near, list) and [loc["name"] for loc in near] == [
        "Городская поликлиника №3",
        "Филиал поликлиники №3",
    ]


def test_the_reference_client_pushes_a_signed_bundle(live: Live) -> None:
    args = (
        "push",
        "--iin",
        live.worker_iin,
        "--author-iin",
        live.author_iin,
        "--p12",
        str(live.p12),
        "--password",
        PASSWORD,
        "--observation",
        "20507-0:NEG:2026-03-02",
        "--xray",
        "2026-03-02",
    )
    out = run_client(live, *args)
    assert isinstance(out, dict) and out["type"] == "transaction-response", out
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created", "201 Created", "200 OK"]
    status = httpx.get(
        live.base.replace("/fhir/R4", "/api/v1/interop/sync-status"),
        headers={"Authorization": f"Bearer {live.fund_token}"},
    ).json()
    assert status["resources_ingested"] >= 2 and status["last_success_at"] is not None
    wrong = run_client(live, *args[:3], "--author-iin", "111111111111", *args[5:], exit_code=1)  # a refusal exits 1
    assert isinstance(wrong, dict) and wrong["resourceType"] == "OperationOutcome"
    assert wrong["issue"][0]["details"]["coding"][0]["code"] == "fhir.author_not_registered"
