"""Items by entry kind (C-13): a catalogue item is recorded only under its kind ("Gynecologist" is an examination,
never a laboratory test); a mismatch is refused with its own code in kk/ru/en, naming the item and the kinds by
their labels, and writes nothing, whether it comes from the desk's API, a correction or an MIS batch. Messages
that name items say their names, not their codes."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.kernel.errors import ItemKindMismatch
from emhana.medbook import journal
from emhana.medbook.labels import items_label
from emhana.medbook.schemas import EntryIn
from tests.builders.medbook import NOW, World, clean_scope, counts, issue_book, record

API = "/api/v1/medbook"


def test_a_laboratory_test_named_gynecologist_is_refused_in_every_language(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    bid = issue_book(client, world)["id"]
    before = counts(sessions)
    r = record(client, world, bid, "lab_result", "gynecologist", "negative")
    assert r.status_code == 422 and r.json()["code"] == "medbook.item_kind_mismatch", r.text
    messages = r.json()["messages"]
    assert "Gynecologist" in messages["en"] and "Laboratory test" in messages["en"]
    assert "Specialist examination" in messages["en"]
    assert "Гинеколог" in messages["ru"] and "Гинеколог" in messages["kk"]
    assert all("gynecologist" not in m and "lab_result" not in m for m in messages.values())
    assert counts(sessions) == before
    assert record(client, world, bid, "specialist_exam", "gynecologist", "normal").status_code == 201
    assert record(client, world, bid, "vaccination", "rabies", "normal").status_code == 201  # not in the catalogue
    assert record(client, world, bid, "vaccination", "measles", "normal").status_code == 201  # a vaccination item
    refused = record(client, world, bid, "lab_result", "measles", "negative")
    assert refused.json()["code"] == "medbook.item_kind_mismatch"  # a vaccination is not a laboratory test


def test_a_correction_to_another_kinds_item_is_refused_and_writes_nothing(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    bid = issue_book(client, world)["id"]
    entry = record(client, world, bid, "xray", "fluorography", "normal").json()
    before = counts(sessions)
    r = client.post(
        f"{API}/entries/{entry['id']}/correction",
        headers=world.h["clin_a"],
        json={
            "kind": "xray",
            "item_code": "syphilis",
            "performed_on": "2026-03-01",
            "result": "negative",
            "reason": "x",
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "medbook.item_kind_mismatch", r.text
    assert "Исследование на сифилис" in r.json()["messages"]["ru"]
    assert counts(sessions) == before


def test_a_batch_from_the_mis_is_refused_at_the_mismatched_entry(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    bid = issue_book(client, world)["id"]
    before = counts(sessions)
    good = EntryIn(kind="lab_result", item_code="helminths", performed_on=dt.date(2026, 3, 1), result="negative")
    bad = EntryIn(kind="specialist_exam", item_code="fluorography", performed_on=dt.date(2026, 3, 1))
    with sessions() as s, pytest.raises(journal.EntryRefused) as refused:
        journal.record_many(session=s, actor=world.actors["clin_a"], book_id=bid, entries=[good, bad], now=NOW)
    assert refused.value.index == 1 and isinstance(refused.value.error, ItemKindMismatch)
    assert counts(sessions) == before


def test_an_incomplete_clearance_names_the_missing_items_in_every_language(client: TestClient, world: World) -> None:
    bid = issue_book(client, world)["id"]
    clean_scope(client, world, bid, skip=("intestinal_carriage", "syphilis"))
    r = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert r.json()["code"] == "medbook.clearance_incomplete"
    messages = r.json()["messages"]
    assert "Bacteriological test for intestinal-infection carriage, Syphilis test" in messages["en"]
    assert "Ішек инфекцияларын тасымалдаушылыққа бактериологиялық зерттеу" in messages["kk"]
    assert all("intestinal_carriage" not in m and "syphilis" not in m for m in messages.values())


def test_the_items_label_says_a_dash_for_none_and_the_code_for_an_unknown_item() -> None:
    assert items_label([]).in_language("kk") == "—"
    assert items_label(["rabies", "therapist"]).in_language("ru") == "rabies, Терапевт"
    assert items_label(["measles", "tuberculosis"]).in_language("kk") == "Қызылшаға қарсы вакцинация, Туберкулез"
