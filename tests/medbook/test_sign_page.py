"""The desk's sign buttons (C-06, C-40): the author's own unsigned entries get a NCALayer button; in demo mode only,
a form signs on the server with the author's demo PKCS#12 file through the trust service (path and CRL checked);
outside demo mode that form is refused and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.medbook.models import JournalEntry
from emhana.trust.keys import pki
from emhana.trust.signatures import demo as demo_signing
from emhana.trust.signatures.models import RecordSignature
from tests.builders.medbook import World, csrf_of, sign_in
from tests.builders.signatures import PASSWORD, at_the_wall_clock, certificate_of, entry_of, trust_test_pki

DESK = "/medbook/desk/books"


def demo_mode(app: FastAPI, folder: Path, *, on: bool = True) -> None:
    """Run the app in demo mode (or not) with its demo PKI in ``folder``."""
    app.state.settings = app.state.settings.model_copy(update={"demo_mode": on, "demo_pki": str(folder)})


def demo_file(app: FastAPI, sessions: sessionmaker[Session], world: World, name: str, folder: Path) -> None:
    """Write the demo PKCS#12 file of a world account, issued by the test PKI the app trusts."""
    p = trust_test_pki(app)
    issued = certificate_of(sessions, world.actors[name].account_id)
    (folder / f"{world.actors[name].username}.p12").write_bytes(
        pki.to_pkcs12(name, issued, [p.inter.certificate], PASSWORD)
    )


def book_of(sessions: sessionmaker[Session], entry_id: int) -> int:
    with sessions() as s:
        return s.get_one(JournalEntry, entry_id).book_id


def state(sessions: sessionmaker[Session], entry_id: int) -> tuple[str, int]:
    with sessions() as s:
        return (
            s.get_one(JournalEntry, entry_id).signature_state,
            s.scalar(select(func.count()).select_from(RecordSignature)) or 0,
        )


def test_the_demo_pki_password_is_the_demo_files_password() -> None:
    from emhana.devtools.pki_demo import DEMO_PASSWORD

    assert demo_signing.PASSWORD == DEMO_PASSWORD == PASSWORD


def test_in_demo_mode_the_author_signs_an_entry_with_the_demo_pki(
    app: FastAPI, client: TestClient, world: World, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    entry_id = entry_of(client, world)
    book_id = book_of(sessions, entry_id)
    demo_file(app, sessions, world, "clin_a", tmp_path)
    demo_mode(app, tmp_path)
    at_the_wall_clock()  # the demo signs at the wall clock, where the test PKI stands
    sign_in(client, world, "clin_a")
    page = client.get(f"{DESK}/{book_id}?lang=kk")
    assert page.status_code == 200
    action = f"{DESK}/{book_id}/entries/{entry_id}/sign-demo"
    assert action in page.text and "Демо PKI арқылы қол қою (ҚР ҰКО емес)" in page.text
    assert f'data-ncalayer-sign="{entry_id}"' in page.text and "NCALayer арқылы қол қою" in page.text

    # Another clinic's clinician and a colleague who is not the author are refused; nothing is written.
    sign_in(client, world, "rt_a")
    other = client.post(action, data={"csrf": csrf_of(client.get(f"{DESK}/{book_id}").text)})
    assert other.status_code in (403, 404) and state(sessions, entry_id) == ("pending", 0)
    assert action not in client.get(f"{DESK}/{book_id}").text  # not their entry: no button

    sign_in(client, world, "clin_a")
    token = csrf_of(client.get(f"{DESK}/{book_id}").text)
    assert client.post(action, data={"csrf": "forged"}).status_code == 403
    assert state(sessions, entry_id) == ("pending", 0)
    done = client.post(action, data={"csrf": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{DESK}/{book_id}", done.text
    assert state(sessions, entry_id) == ("signed", 1)
    with sessions() as s:
        row = s.scalar(select(RecordSignature).where(RecordSignature.record_id == entry_id))
        assert row is not None and row.evidence["outcome"] == "valid" and len(row.evidence["chain"]) == 3
        assert row.evidence["crls"] and row.attached_by == world.actors["clin_a"].account_id
    after = client.get(f"{DESK}/{book_id}").text
    assert action not in after and f'data-ncalayer-sign="{entry_id}"' not in after  # signed: no button


def test_a_demo_file_of_another_person_is_refused_by_the_verifier(
    app: FastAPI, client: TestClient, world: World, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    entry_id = entry_of(client, world)
    book_id = book_of(sessions, entry_id)
    demo_file(app, sessions, world, "rt_a", tmp_path)  # the therapist's certificate under the clinician's name
    (tmp_path / f"{world.actors['rt_a'].username}.p12").rename(tmp_path / f"{world.actors['clin_a'].username}.p12")
    demo_mode(app, tmp_path)
    at_the_wall_clock()
    sign_in(client, world, "clin_a")
    token = csrf_of(client.get(f"{DESK}/{book_id}").text)
    r = client.post(f"{DESK}/{book_id}/entries/{entry_id}/sign-demo?lang=en", data={"csrf": token})
    assert r.status_code == 422 and "IIN" in r.text
    assert state(sessions, entry_id) == ("pending", 0)


@pytest.mark.parametrize("has_file", [True, False])
def test_outside_demo_mode_demo_signing_is_refused_and_not_offered(
    app: FastAPI,
    client: TestClient,
    world: World,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    has_file: bool,
) -> None:
    entry_id = entry_of(client, world)
    book_id = book_of(sessions, entry_id)
    if has_file:
        demo_file(app, sessions, world, "clin_a", tmp_path)
    demo_mode(app, tmp_path, on=False)
    at_the_wall_clock()
    sign_in(client, world, "clin_a")
    page = client.get(f"{DESK}/{book_id}?lang=en").text
    action = f"{DESK}/{book_id}/entries/{entry_id}/sign-demo"
    assert action not in page and "demo PKI" not in page
    assert f'data-ncalayer-sign="{entry_id}"' in page  # NCALayer signing is always offered
    r = client.post(action, data={"csrf": csrf_of(page)})
    assert r.status_code == 404 and "demo mode only" in r.text
    assert state(sessions, entry_id) == ("pending", 0)
    if not has_file:  # demo mode without a file for the account: not offered, refused
        demo_mode(app, tmp_path)
        page = client.get(f"{DESK}/{book_id}?lang=en").text
        assert action not in page
        assert client.post(action, data={"csrf": csrf_of(page)}).status_code == 404
        assert state(sessions, entry_id) == ("pending", 0)
