"""Patient/$medbook as a document a generic viewer and a receiving MIS can use (issue 17, item 7): a generated
narrative in the book's language, the codings the MIS sent beside the local item codes, corrections marked and
linked to what they replace, the author as a Practitioner with the IIN, and a bounded number of queries."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.facilities.models import Practitioner
from emhana.fhir import narrative, systems
from emhana.fhir.canonical import signed_bytes
from emhana.identity.models import Person
from emhana.medbook import journal
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.signable import mark_entry_signed
from emhana.trust.signatures.cms import sign_detached
from emhana.trust.signatures.models import RecordSignature
from emhana.trust.signatures.records import RecordKind, signable
from tests.builders import fhir as b
from tests.builders.fhir import FhirWorld
from tests.builders.medbook import clean_scope, record
from tests.builders.people import add_person

XHTML = "{http://www.w3.org/1999/xhtml}"
# FHIR R4 Narrative.div (txt-1): the basic HTML elements only; no script, forms, styles sheets or event handlers.
ALLOWED = frozenset(
    "a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i "
    "img li ol p pre q samp small span strong sub sup table tbody td tfoot th thead tr tt ul var".split()
)
CLINICAL = ("Observation", "DiagnosticReport", "Immunization", "Condition")


def wall_clock() -> dt.datetime:  # the FHIR world runs on the real clock (its signatures)
    return dt.datetime.now(dt.UTC)


def medbook(client: TestClient, fw: FhirWorld, who: str = "mis_a") -> dict[str, Any]:
    r = client.get(f"/fhir/R4/Patient/{fw.w.cook}/$medbook", headers=fw.w.h[who])
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    get_fhir_model_class("Bundle").model_validate(doc)  # the whole document is valid FHIR (R4B models)
    return doc


def resources_of(doc: dict[str, Any], *types: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] in types]


def by_url(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in doc["entry"]}


def text_of(narr: dict[str, Any]) -> str:
    """Check a Narrative against FHIR's rules and return its text."""
    assert narr["status"] == "generated"
    root = ET.fromstring(narr["div"])  # well-formed XML
    assert root.tag == f"{XHTML}div" and narr["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    for el in root.iter():
        assert el.tag.startswith(XHTML) and el.tag.removeprefix(XHTML) in ALLOWED, el.tag
        assert not any(a.lower().startswith("on") or a == "style" for a in el.attrib), el.attrib
    text = "".join(root.itertext())
    assert text.strip()  # txt-2: some non-whitespace content
    return text


def practitioner_with(sessions: sessionmaker[Session], iin: str) -> int:
    with sessions() as s:
        found = s.scalar(select(Practitioner.id).where(Practitioner.iin == iin))
    assert found is not None
    return found


def sign_entry(sessions: sessionmaker[Session], fw: FhirWorld, entry_id: int) -> tuple[bytes, bytes]:
    """What emhana.trust.signatures.service.attach_signature stores once verified, and the entry marked signed."""
    with sessions.begin() as s:
        data = signable(s, RecordKind.MEDBOOK_ENTRY, entry_id).canonical
        cms = sign_detached(data, fw.signer.key, fw.signer.cert, fw.signer.chain)
        now = dt.datetime.now(dt.UTC)
        s.add(
            RecordSignature(
                record_kind="medbook_entry",
                record_id=entry_id,
                canonical_sha256="0" * 64,
                cms=cms,
                signer_certificate=b"",
                signer_iin=fw.signer.iin,
                signer_bin="150340001236",
                signed_at=now,
                verified_at=now,
                verifier="test",
                evidence={},
            )
        )
        s.flush()
        mark_entry_signed(s, entry_id)
    return data, cms


def entry_of(sessions: sessionmaker[Session], **where: Any) -> int:
    with sessions() as s:
        rows = list(s.scalars(select(JournalEntry.id).filter_by(**where).order_by(JournalEntry.id.desc())))
    assert rows, where
    return rows[0]


def test_every_section_and_entry_kind_has_a_valid_narrative_in_the_book_language(
    client: TestClient, fw: FhirWorld
) -> None:
    iin = fw.w.cook_iin
    clean_scope(client, fw.w, fw.book_id)  # specialist exams, lab results and the fluorography at the desk
    r = client.post(
        f"/api/v1/medbook/books/{fw.book_id}/clearance", headers=fw.w.h["rt_a"], json={"decision": "granted"}
    )
    assert r.status_code == 201, r.text
    valid_until = dt.date.fromisoformat(r.json()["valid_until"])
    sent = [
        b.xray(iin),
        b.immunization(iin),
        b.condition(iin),  # a past tuberculosis, resolved
        b.condition(iin, icd="J45", clinical="resolved"),  # a specialist's diagnosis
        b.observation(iin, interpretation="POS"),  # syphilis: suspension and referral (C-30)
    ]
    assert b.post(client, fw, b.bundle(sent, signer=fw.signer)).status_code == 200
    doc = medbook(client, fw)
    composition = doc["entry"][0]["resource"]
    assert composition["language"] == "ru" and composition["title"] == f"Личная медицинская книжка № {fw.book_id}"
    assert "Личная медицинская книжка" in text_of(composition["text"])
    kinds = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    assert set(kinds) == {
        "specialist_exam",
        "lab_result",
        "xray",
        "vaccination",
        "past_infection",
        "specialist_diagnosis",
        "clearance",
        "referral",
    }
    urls = by_url(doc)
    base = doc["entry"][0]["fullUrl"].rsplit("/Composition/", 1)[0]
    for section in kinds.values():
        text_of(section["text"])
        assert len(ET.fromstring(section["text"]["div"]).findall(f".//{XHTML}tbody/{XHTML}tr")) == len(section["entry"])
        for ref in section["entry"]:
            text_of(urls[f"{base}/{ref['reference']}"]["text"])  # every entry resource has its narrative
    assert len(resources_of(doc, *CLINICAL)) == sum(len(s["entry"]) for s in composition["section"])
    clearance = text_of(kinds["clearance"]["text"])
    # the clearance and its validity, and the suspension after the positive result
    assert f"Допущен к работе; действителен до {valid_until.strftime('%d.%m.%Y')}" in clearance
    assert "Допуск приостановлен" in clearance
    assert "Флюорография органов грудной клетки" in text_of(kinds["xray"]["text"])  # the item in words
    assert "Направлен" in text_of(kinds["referral"]["text"])
    assert "Туберкул" in text_of(kinds["past_infection"]["text"])
    lab = [urls[f"{base}/{x['reference']}"] for x in kinds["lab_result"]["entry"]]
    assert any("положительный" in text_of(r["text"]) and "02.03.2026" in text_of(r["text"]) for r in lab)


def test_the_narrative_speaks_kazakh_for_a_kazakh_book() -> None:
    line = narrative.line(
        "kk",
        number=7,
        kind="xray",
        item_code="fluorography",
        performed_on=dt.date(2026, 3, 2),
        result="normal",
        result_text="<script>alert(1)</script>",
        clearance=None,
        valid_until=None,
        diagnosis_status=None,
        diagnoses=[],
        referral_to=None,
        supersedes=5,
        reason="қате & түзету",
        author="Ахметова Динара",
    )
    shown = text_of(narrative.entry_text("kk", line))
    assert "Кеуде қуысының флюорографиясы" in shown and "02.03.2026" in shown
    assert "№ 5 жазбаны түзетеді" in shown and "қате & түзету" in shown
    assert "<script>" in shown  # shown as text: escaped, never an element
    assert "script" not in {
        el.tag.removeprefix(XHTML) for el in ET.fromstring(narrative.entry_text("kk", line)["div"]).iter()
    }
    assert narrative.ELEMENTS <= ALLOWED
    table = text_of(narrative.section_text("kk", "xray", [line]))
    assert "Кеуде қуысының флюорографиясы" in table


def test_a_kazakh_book_is_told_in_kazakh_and_what_it_quotes_stays_text(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:  # the owner chose Kazakh (C-10)
        book = s.get(MedicalBook, fw.book_id)
        assert book is not None
        book.language = "kk"
    r = client.post(
        f"/api/v1/medbook/books/{fw.book_id}/entries",
        headers=fw.w.h["clin_a"],
        json={
            "kind": "xray",
            "item_code": "fluorography",
            "performed_on": "2026-03-02",
            "result": "normal",
            "result_text": "<script>alert(1)</script> & <b onclick='x'>",
        },
    )
    assert r.status_code == 201, r.text
    doc = medbook(client, fw, who="clin_a")
    composition = doc["entry"][0]["resource"]
    assert composition["language"] == "kk" and composition["title"] == f"№ {fw.book_id} жеке медициналық кітапша"
    [section] = composition["section"]
    assert section["title"] == "Рентген / флюорография"
    [report] = resources_of(doc, "DiagnosticReport")
    for narr in (section["text"], report["text"]):
        shown = text_of(narr)
        assert "Кеуде қуысының флюорографиясы" in shown and "патология жоқ" in shown and "02.03.2026" in shown
        assert "<script>alert(1)</script> & <b onclick='x'>" in shown  # the text as written, escaped
        assert {el.tag.removeprefix(XHTML) for el in ET.fromstring(narr["div"]).iter()} <= narrative.ELEMENTS


def test_an_mis_entry_keeps_the_codings_it_was_sent_with(client: TestClient, fw: FhirWorld) -> None:
    iin = fw.w.cook_iin
    lab = b.observation(iin)
    lab["code"]["coding"][0]["display"] = "Reagin Ab [Presence] in Serum by RPR"
    lab["code"]["coding"].append({"system": systems.SNOMED, "code": "269820002"})
    lab["valueCodeableConcept"] = {"coding": [{"system": systems.SNOMED, "code": "260385009", "display": "Negative"}]}
    sent = [b.xray(iin), lab, b.immunization(iin), b.condition(iin)]
    assert b.post(client, fw, b.bundle(sent, signer=fw.signer)).status_code == 200
    doc = medbook(client, fw)
    [xray] = resources_of(doc, "DiagnosticReport")
    assert {(c["system"], c["code"]) for c in xray["code"]["coding"]} == {
        (systems.ITEM, "fluorography"),
        (systems.LOINC, "36643-5"),
    }
    # The SNOMED conclusion says what the local result says: one concept with both codings.
    assert [{(c["system"], c["code"]) for c in x["coding"]} for x in xray["conclusionCode"]] == [
        {(systems.ITEM, "normal"), (systems.SNOMED, "17621005")}
    ]
    [obs] = resources_of(doc, "Observation")
    assert obs["code"]["coding"] == [
        {"system": systems.ITEM, "code": "syphilis"},
        {"system": systems.LOINC, "code": "20507-0", "display": "Reagin Ab [Presence] in Serum by RPR"},
        {"system": systems.SNOMED, "code": "269820002"},
    ]
    assert obs["valueCodeableConcept"] == lab["valueCodeableConcept"]
    assert obs["interpretation"][0]["coding"][0]["code"] == "NEG"
    [imm] = resources_of(doc, "Immunization")
    assert {(c["system"], c["code"]) for c in imm["vaccineCode"]["coding"]} == {
        (systems.ITEM, "hepatitis_b"),
        (systems.CVX, "43"),
    }
    [cond] = resources_of(doc, "Condition")
    assert {(c["system"], c["code"]) for c in cond["code"]["coding"]} == {
        (systems.ITEM, "tuberculosis"),
        (systems.ICD10, "A15.0"),
    }


def test_a_corrected_entry_says_so_and_links_what_it_replaces(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    first = [b.xray(iin, rid="xr-1"), b.observation(iin, rid="lab-1")]
    assert b.post(client, fw, b.bundle(first, signer=fw.signer)).status_code == 200
    old_xray = entry_of(sessions, kind="xray")
    old_lab = entry_of(sessions, kind="lab_result")
    # The MIS sends a second version of the X-ray (pathology found); its correction counts once signed (C-40).
    second = b.xray(iin, rid="xr-1", conclusion="263654008")
    second["meta"] = {"versionId": "2"}
    assert b.post(client, fw, b.bundle([second], signer=fw.signer)).status_code == 200
    new_xray = entry_of(sessions, supersedes_id=old_xray)
    sign_entry(sessions, fw, new_xray)
    # The clinic corrects the laboratory result at the desk, keeping the test: its LOINC code stays.
    r = client.post(
        f"/api/v1/medbook/entries/{old_lab}/correction",
        headers=fw.w.h["clin_a"],
        json={
            "kind": "lab_result",
            "item_code": "syphilis",
            "performed_on": "2026-03-01",
            "result": "negative",
            "reason": "дата взятия пробы",
        },
    )
    assert r.status_code == 201, r.text
    new_lab = int(r.json()["id"])
    sign_entry(sessions, fw, new_lab)
    doc = medbook(client, fw)
    [xray] = resources_of(doc, "DiagnosticReport")
    assert xray["id"] == f"entry-{new_xray}" and xray["status"] == "corrected"
    assert xray["meta"]["versionId"] == "1" and xray["meta"]["lastUpdated"]
    assert {(c["system"], c["code"]) for c in xray["conclusionCode"][0]["coding"]} == {
        (systems.ITEM, "abnormal"),
        (systems.SNOMED, "263654008"),
    }
    [lab] = [r for r in resources_of(doc, "Observation") if r["category"][0]["coding"][0]["code"] == "lab_result"]
    assert lab["id"] == f"entry-{new_lab}" and lab["status"] == "corrected"
    assert {(c["system"], c["code"]) for c in lab["code"]["coding"]} == {
        (systems.ITEM, "syphilis"),
        (systems.LOINC, "20507-0"),
    }
    shown = text_of(lab["text"])
    assert f"Исправляет запись № {old_lab}" in shown and "дата взятия пробы" in shown
    provenance = {p["target"][0]["reference"]: p for p in resources_of(doc, "Provenance")}
    for resource, old in ((xray, old_xray), (lab, old_lab)):
        prov = provenance[f"{resource['resourceType']}/{resource['id']}"]
        assert prov["activity"]["coding"][0]["code"] == "UPDATE"
        [revision] = [x for x in prov["entity"] if x["role"] == "revision"]
        assert revision["what"]["type"] == resource["resourceType"]
        assert revision["what"]["identifier"] == {"system": systems.ENTRY, "value": str(old)}
        # The superseded version is not in the document (module docstring of emhana.fhir.outbound).
        assert f"entry-{old}" not in {r.get("id") for r in resources_of(doc, *CLINICAL)}
    assert str(old_lab) not in {x["value"] for r in resources_of(doc, *CLINICAL) for x in r["identifier"]}


def test_a_retracted_entry_is_shown_entered_in_error(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    sent = [b.observation(iin), b.condition(iin), b.xray(iin)]
    assert b.post(client, fw, b.bundle(sent, signer=fw.signer)).status_code == 200
    lab, tb = entry_of(sessions, kind="lab_result"), entry_of(sessions, kind="past_infection")
    retractions = {}
    with sessions.begin() as s:
        for entry in (lab, tb):
            retractions[entry] = journal.retract(
                session=s, actor=fw.w.actors["clin_a"], entry_id=entry, reason="не тот пациент", now=wall_clock()
            ).id
    doc = medbook(client, fw)
    found = {r["id"]: r for r in resources_of(doc, *CLINICAL)}
    obs, cond = found[f"entry-{lab}"], found[f"entry-{tb}"]
    assert obs["status"] == "entered-in-error" and obs["meta"]["versionId"] == "2"
    assert (systems.LOINC, "20507-0") in {(c["system"], c["code"]) for c in obs["code"]["coding"]}
    assert cond["verificationStatus"]["coding"][0]["code"] == "entered-in-error" and "clinicalStatus" not in cond
    assert found[next(k for k, r in found.items() if r["resourceType"] == "DiagnosticReport")]["status"] == "final"
    shown = text_of(obs["text"])
    assert f"Отозвана как внесённая ошибочно записью № {retractions[lab]}" in shown and "не тот пациент" in shown
    composition = doc["entry"][0]["resource"]
    listed = {x["reference"] for section in composition["section"] for x in section["entry"]}
    assert {f"Observation/entry-{lab}", f"Condition/entry-{tb}"} <= listed
    nullified = {p["id"]: p for p in resources_of(doc, "Provenance") if p["activity"]["coding"][0]["code"] == "NULLIFY"}
    assert set(nullified) == {f"prov-{retractions[lab]}", f"prov-{retractions[tb]}"}
    assert nullified[f"prov-{retractions[lab]}"]["target"] == [{"reference": f"Observation/entry-{lab}"}]


def test_the_author_is_a_practitioner_with_the_iin(
    client: TestClient,
    fw: FhirWorld,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    iin = fw.w.cook_iin
    assert b.post(client, fw, b.bundle([b.xray(iin)], signer=fw.signer)).status_code == 200
    doctor = add_person(sessions, born=dt.date(1979, 4, 2), sex="male")
    with sessions.begin() as s:
        doctor_iin = s.get(Person, doctor).iin  # type: ignore[union-attr]
        s.add(Practitioner(iin=doctor_iin, surname="Серикбаев", given_name="Ерлан", specialties="therapist"))
    _, token = make_actor(Role.CLINICIAN, person_id=doctor, entity_id=fw.w.a)
    r = client.post(
        f"/api/v1/medbook/books/{fw.book_id}/entries",
        headers={"Authorization": f"Bearer {token}"},
        json={"kind": "specialist_exam", "item_code": "therapist", "performed_on": "2026-03-02", "result": "normal"},
    )
    assert r.status_code == 201, r.text
    doc = medbook(client, fw)
    urls = by_url(doc)
    base = doc["entry"][0]["fullUrl"].rsplit("/Composition/", 1)[0]
    expected = {"DiagnosticReport": fw.signer.iin, "Observation": doctor_iin}
    for resource in resources_of(doc, "DiagnosticReport", "Observation"):
        want = expected[resource["resourceType"]]
        [prov] = [
            p
            for p in resources_of(doc, "Provenance")
            if p["target"][0]["reference"] == f"{resource['resourceType']}/{resource['id']}"
        ]
        who = prov["agent"][0]["who"]
        assert who["identifier"] == {"system": systems.IIN, "value": want}
        assert who["reference"] == f"Practitioner/{practitioner_with(sessions, want)}"
        assert who["display"] == resource["performer"][0]["display"] and who["display"]
        assert resource["performer"][0]["reference"] == who["reference"]
        # The reference resolves inside the document, and on the server, to a Practitioner with that IIN.
        included = urls[f"{base}/{who['reference']}"]
        assert included["resourceType"] == "Practitioner"
        assert {"use": "official", "system": systems.IIN, "value": want} in included["identifier"]
        served = client.get(f"/fhir/R4/{who['reference']}", headers=fw.w.h["mis_a"])
        assert served.status_code == 200 and served.json()["identifier"][0]["value"] == want
    assert "Ахметова Динара" in resources_of(doc, "Provenance")[0]["agent"][0]["who"]["display"]


def test_the_signed_bytes_still_verify_with_stock_openssl(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    iin = fw.w.cook_iin
    sent = b.bundle([b.observation(iin), b.xray(iin)], signer=fw.signer)
    assert b.post(client, fw, sent).status_code == 200
    r = record(client, fw.w, fw.book_id, "specialist_exam", "therapist", "normal")
    assert r.status_code == 201, r.text
    data, cms = sign_entry(sessions, fw, int(r.json()["id"]))
    doc = medbook(client, fw)
    binaries = {f"Binary/{x['id']}": base64.b64decode(x["data"]) for x in resources_of(doc, "Binary")}
    assert binaries[next(k for k in binaries if "signed-bundle" in k)] == signed_bytes(sent["entry"])
    assert data in binaries.values()
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(
        fw.pki.root.certificate.public_bytes(Encoding.PEM) + fw.pki.intermediate.certificate.public_bytes(Encoding.PEM)
    )
    checked = 0
    for prov in resources_of(doc, "Provenance"):
        if "signature" not in prov:
            continue
        content = tmp_path / f"{prov['id']}.bin"
        content.write_bytes(binaries[prov["entity"][0]["what"]["reference"]])
        signature = tmp_path / f"{prov['id']}.p7s"
        signature.write_bytes(base64.b64decode(prov["signature"][0]["data"]))
        done = subprocess.run(
            [
                "openssl",
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                str(signature),
                "-content",
                str(content),
                "-CAfile",
                str(anchors),
                "-purpose",
                "any",
                "-out",
                str(tmp_path / "out.bin"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Verification successful" in done.stderr
        checked += 1
        content.write_bytes(content.read_bytes() + b" ")  # one byte more: the signature no longer holds
        tampered = subprocess.run(
            [
                "openssl",
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                str(signature),
                "-content",
                str(content),
                "-CAfile",
                str(anchors),
                "-purpose",
                "any",
                "-out",
                str(tmp_path / "out.bin"),
            ],
            capture_output=True,
            check=False,
        )
        assert tampered.returncode != 0
    assert checked == 3  # the bundle's two entries and the signed desk entry
    assert cms in {
        base64.b64decode(p["signature"][0]["data"]) for p in resources_of(doc, "Provenance") if "signature" in p
    }


@contextmanager
def counted(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_queries_of_a_document_do_not_grow_with_its_entries(
    client: TestClient, fw: FhirWorld, app: FastAPI, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin

    def add(n: int) -> None:
        sent = [b.observation(iin) for _ in range(n)] + [b.xray(iin), b.immunization(iin), b.condition(iin)]
        assert b.post(client, fw, b.bundle(sent, signer=fw.signer)).status_code == 200
        r = record(client, fw.w, fw.book_id, "specialist_exam", "therapist", "normal")
        assert r.status_code == 201, r.text
        sign_entry(sessions, fw, int(r.json()["id"]))
        r = record(client, fw.w, fw.book_id, "specialist_exam", "dermatovenerologist", "normal")
        assert r.status_code == 201, r.text

    def queries() -> tuple[int, int]:
        with counted(app) as statements:
            doc = medbook(client, fw)
        return len(statements), len(resources_of(doc, *CLINICAL))

    add(1)
    few, entries = queries()
    assert entries == 6
    add(20)
    add(1)
    many, entries = queries()
    assert entries >= 30
    assert many == few, (few, many)
