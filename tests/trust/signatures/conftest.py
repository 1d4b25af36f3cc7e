"""Fixtures of the record-signature tests: the test PKI in each algorithm, and clin_a of the medical-book world tied
to a person and holding a PKCS#12 file (the PKI, NCALayer's part and the world are in tests/builders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.models import Account
from emhana.identity.models import Person
from emhana.trust.keys import pki
from emhana.trust.signatures.truststore import TrustStore
from tests.builders.medbook import World
from tests.builders.people import add_person
from tests.builders.signatures import BIN, PASSWORD, Pki, pki_of


@pytest.fixture(params=["ec", "rsa"])
def world_pki(request: pytest.FixtureRequest) -> Pki:
    """The PKI in each algorithm (made once per test session: RSA keys are slow to generate)."""
    return pki_of(str(request.param))


@pytest.fixture
def signing(
    world: World,
    app: FastAPI,
    sessions: sessionmaker[Session],
    ec_pki: Pki,
    tmp_path: Path,
) -> Callable[..., Path]:
    """Tie clin_a to a person, trust the test PKI, and return a maker of PKCS#12 files."""
    person_id = add_person(sessions, born=dt.date(1985, 3, 14), sex="female")
    with sessions.begin() as s:
        s.execute(update(Account).where(Account.id == world.actors["clin_a"].account_id).values(person_id=person_id))
        iin = s.get(Person, person_id).iin  # type: ignore[union-attr]
    app.state.signature_trust = TrustStore(anchors=(ec_pki.root.certificate,), crls=(ec_pki.crl,))

    def p12(*, iin_: str | None = None, bin_: str = BIN) -> Path:
        issued = ec_pki.person(iin=iin_ or iin, bin_=bin_)
        path = tmp_path / f"clinician-{iin_ or iin}-{bin_}.p12"
        path.write_bytes(pki.to_pkcs12("clinician", issued, [ec_pki.inter.certificate], PASSWORD))
        return path

    return p12
