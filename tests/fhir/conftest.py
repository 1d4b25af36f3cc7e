"""The FHIR world: the medical-book world (clinic A issues books; its MIS account mis_a), a book for the
cook, two registered practitioners with demo NCA-shaped certificates, and the app trusting the demo CA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.facilities.models import Practitioner
from emhana.fhir.codemap import seed_code_map
from emhana.fhir.signature import Trust
from emhana.identity.rules import Sex, make_iin
from tests.builders.fhir import FhirWorld, Pki, Signer, make_pki, make_signer
from tests.builders.medbook import World, issue_book


@pytest.fixture(scope="session")
def demo_pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="session")
def signers(demo_pki: Pki) -> tuple[Signer, Signer]:
    iins = [make_iin(dt.date(1980, 1, 2), Sex.FEMALE, n) for n in (11, 12)]
    return make_signer(demo_pki, iins[0] or ""), make_signer(demo_pki, iins[1] or "")


@pytest.fixture
def fw(
    world: World,
    client: TestClient,
    app: FastAPI,
    sessions: sessionmaker[Session],
    demo_pki: Pki,
    signers: tuple[Signer, Signer],
    at: Callable[[dt.datetime], None],
) -> FhirWorld:
    app.state.fhir_trust = Trust((demo_pki.root.certificate, demo_pki.intermediate.certificate), (demo_pki.crl,))
    with sessions.begin() as s:
        seed_code_map(s)
        for signer in signers:
            s.add(Practitioner(iin=signer.iin, surname="Ахметова", given_name="Динара", specialties="therapist"))
    book = issue_book(client, world)
    at(dt.datetime.now(dt.UTC))  # signatures carry the real signing time: the checks run on the real clock
    return FhirWorld(w=world, book_id=int(book["id"]), signer=signers[0], other=signers[1], pki=demo_pki)
