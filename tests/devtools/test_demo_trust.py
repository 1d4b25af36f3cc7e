"""The demo verifies and signs: its book's seal is VALID on the live lists, its PKI matches the demo signers'
IIN and BIN so that `emhana sign demo` signs an entry, the banner says how, and every page links to /verify."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from emhana.accounts.models import Account
from emhana.cli.main import app as cli
from emhana.devtools.demo import pki_folder, seed, signing_help
from emhana.devtools.generator import run_with_progress
from emhana.facilities.models import Entity
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.db import make_engine, make_sessionmaker
from emhana.medbook import seal, service
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.trust.keys.certs import load_pkcs12
from emhana.trust.models import PublishedList
from emhana.trust.scheme import publish
from emhana.trust.seals.verifier import Outcome


def test_the_demo_book_seal_verifies_and_sign_demo_signs_an_entry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    seed(url, population=300, seed_value=1, generate=run_with_progress)
    folder = pki_folder(url)
    assert folder == tmp_path / "demo-pki" and (folder / "manifest.json").exists()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        assert {row.name for row in s.scalars(select(PublishedList))} == {"trust", "revocation"}  # trust init
        citizen = s.scalar(select(Account).where(Account.username == "demo-citizen"))
        clinician = s.scalar(select(Account).where(Account.username == "demo-clinician"))
        therapist = s.scalar(select(Account).where(Account.username == "demo-responsible-therapist"))
        assert citizen is not None and clinician is not None and therapist is not None
        assert clinician.person_id is not None and therapist.person_id is not None
        assert len({citizen.person_id, clinician.person_id, therapist.person_id}) == 3
        book = s.scalar(select(MedicalBook).where(MedicalBook.person_id == citizen.person_id))
        assert book is not None
        mark = service.latest_clearance(service.current_entries(session=s, book_id=book.id))
        now = dt.datetime.now(KZ_TIME)
        text = seal.seal_for(s, book, mark, now=now)
        assert text is not None
        assert publish.verify_text(s, text).outcome is Outcome.VALID
        entry = s.scalar(
            select(JournalEntry)
            .where(JournalEntry.book_id == book.id, JournalEntry.author_account_id == clinician.id)
            .order_by(JournalEntry.id)
            .limit(1)
        )
        assert entry is not None and entry.signature_state == "pending"
        entry_id = entry.id
        iin = s.get_one(Person, clinician.person_id).iin
        bin_ = s.get_one(Entity, clinician.entity_id).bin
    # The PKCS#12 file names the clinician's IIN and the organization's BIN.
    p12 = folder / "demo-clinician.p12"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    _key, cert, _chain = load_pkcs12(p12.read_bytes(), manifest["password"])
    subject = cert.subject.rfc4514_string()
    assert f"IIN{iin}" in subject and f"BIN{bin_}" in subject
    # The banner tells where the files are and the command that signs an entry; that command works.
    lines = signing_help(url)
    assert str(folder) in lines[0] and manifest["password"] in lines[0]
    command = lines[1].split(": ", 1)[1].split()
    assert command[:3] == ["emhana", "sign", "demo"] and str(entry_id) in command
    result = CliRunner().invoke(cli, command[1:])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"signed medbook_entry {entry_id} ")
    with sessions() as s:
        assert s.get_one(JournalEntry, entry_id).signature_state == "signed"
    assert all(f"--id {entry_id} " not in line for line in signing_help(url))  # only a pending entry is offered
    engine.dispose()


@pytest.mark.parametrize(("lang", "label"), [("en", "Verify a seal"), ("ru", None), ("kk", None)])
def test_every_page_links_to_verify_in_its_language(client: TestClient, lang: str, label: str | None) -> None:
    from emhana.kernel.i18n import translate

    page = client.get(f"/facilities?lang={lang}").text
    text = label or translate(lang, "Verify a seal")
    assert lang == "en" or text != "Verify a seal"  # translated
    assert f'<a href="/verify">{text}</a>' in page
    assert f'<a href="/verify" aria-current="page">{text}</a>' in client.get(f"/verify?lang={lang}").text
