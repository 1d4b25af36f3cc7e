"""Medical books through the API: issue (C-04, C-05, C-10, C-11), journal (C-13), clearance (C-20, C-21),
infection → suspension → referral → return (C-30, C-31, journey 7), corrections (C-40, C-41, journey 8),
the owner's access log (journey 9) and the employer's clinical-free view."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.identity.models import Person
from tests.builders.medbook import (
    EMPLOYER_BIN,
    World,
    book_body,
    clean_scope,
    counts,
    issue_book,
    link_employers,
    record,
)
from tests.builders.people import add_person
from tests.builders.signatures import sign_entries

API = "/api/v1/medbook"
JOURNAL_FIELDS = {
    "entries",
    "result",
    "result_text",
    "codes",
    "item_code",
    "kind",
    "canonical",
    "owner",
    "iin",
    "birth_date",
    "group_code",
    "profession",
    "workplace",
}


def keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def test_the_catalogue_is_public_versioned_and_edited_by_the_fund(client: TestClient, world: World) -> None:
    groups = {g["code"]: g for g in client.get(f"{API}/groups").json()}
    assert "decreed_2015" not in groups and groups["catering"]["verified"] is False  # 2015: history (C-51)
    assert len(groups["catering"]["requirements"]) == 10 and groups["catering"]["periodicity_months"] == 12
    body = {
        **{k: groups["catering"][k] for k in ("code", "name_kk", "name_ru", "name_en", "requirements")},
        "periodicity_months": 6,
        "effective_from": "2026-03-01",
        "verified": True,
        "source": "test order",
    }
    assert client.post(f"{API}/groups", headers=world.h["clin_a"], json=body).status_code == 403
    r = client.post(f"{API}/groups", headers=world.h["fund"], json=body)
    assert r.status_code == 201 and r.json()["version"] == 3
    versions = client.get(f"{API}/groups/catering/versions").json()
    assert [(v["version"], v["effective_to"], v["periodicity_months"]) for v in versions] == [
        (1, "2025-01-01", 12),
        (2, "2026-03-01", 12),
        (3, None, 6),
    ]
    again = client.post(f"{API}/groups", headers=world.h["fund"], json=body)
    assert again.status_code == 422 and again.json()["code"] == "core.invalid_dates"
    assert client.get(f"{API}/groups/nope/versions").json()["code"] == "medbook.group_not_found"


def test_appointment_history_keeps_one_open_per_entity(client: TestClient, world: World) -> None:
    rt2 = world.actors["rt_a2"].account_id
    wrong = client.post(
        f"{API}/entities/{world.a}/responsible",
        headers=world.h["fund"],
        json={"account_id": world.actors["clin_a"].account_id, "valid_from": "2026-03-01"},
    )
    assert wrong.json()["code"] == "medbook.appointee_not_eligible"
    other = client.post(
        f"{API}/entities/{world.b}/responsible",
        headers=world.h["admin_a"],
        json={"account_id": rt2, "valid_from": "2026-03-01"},
    )
    assert other.status_code == 403
    r = client.post(
        f"{API}/entities/{world.a}/responsible",
        headers=world.h["admin_a"],
        json={"account_id": rt2, "valid_from": "2026-03-01"},
    )
    assert r.status_code == 201, r.text
    history = client.get(f"{API}/entities/{world.a}/responsible", headers=world.h["clin_a"]).json()
    assert [(h["account_id"], h["valid_to"]) for h in history] == [
        (rt2, None),
        (world.actors["rt_a"].account_id, "2026-03-01"),
    ]
    # C-05: the former responsible therapist can no longer issue books.
    old = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world))
    assert old.status_code == 403 and old.json()["code"] == "medbook.not_responsible_therapist"
    assert client.post(f"{API}/books", headers=world.h["rt_a2"], json=book_body(world)).status_code == 201


def test_issue_keeps_owner_data_and_refuses_ineligible_issuers(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    before = counts(sessions)
    excluded = client.post(f"{API}/books", headers=world.h["rt_x"], json=book_body(world))
    assert excluded.status_code == 422 and excluded.json()["code"] == "medbook.issuer_not_eligible"  # C-04
    unappointed = client.post(f"{API}/books", headers=world.h["rt_a2"], json=book_body(world))
    assert unappointed.json()["code"] == "medbook.not_responsible_therapist"  # C-05
    bad_bin = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world, employer_bin="949940000385"))
    assert bad_bin.json()["code"] == "medbook.invalid_employer"  # neither a BIN nor an entrepreneur's IIN
    kz_en = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world, language="en"))
    assert kz_en.status_code == 422  # C-10: kk or ru only
    assert counts(sessions) == before
    book = issue_book(client, world)
    assert book["owner"]["iin"] == world.cook_iin and book["employer_bin"] == EMPLOYER_BIN
    assert book["group_name"] == "Общественное питание" and book["group_verified"] is False
    assert book["clearance"]["status"] == "none" and book["profession"] == "повар"
    dup = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world))
    assert dup.status_code == 409 and dup.json()["code"] == "medbook.book_exists"


def test_infection_suspends_refers_and_only_new_negative_tests_return_to_work(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    """Journeys 5 and 7 end to end (C-20, C-21, C-30, C-31)."""
    link_employers(client, world)
    book = issue_book(client, world)
    bid = book["id"]
    clean_scope(client, world, bid, skip=("helminths",))
    incomplete = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert incomplete.json()["code"] == "medbook.clearance_incomplete"
    assert "Исследование на гельминтозы" in incomplete.json()["detail"]  # the item's name, not its code
    assert record(client, world, bid, "lab_result", "helminths", "negative", dt.date(2026, 2, 20)).status_code == 201
    clin = client.post(f"{API}/books/{bid}/clearance", headers=world.h["clin_a"], json={"decision": "granted"})
    assert clin.status_code == 403
    granted = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert granted.status_code == 201, granted.text
    assert granted.json()["valid_until"] == "2027-02-20"  # the earliest next due date (C-21)
    assert granted.json()["signature_state"] == "pending" and granted.json()["signature_label"] == "Подпись ожидается"
    workers = client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()
    assert [w["status"] for w in workers] == ["none"]  # an unsigned grant counts for nothing (C-06, C-40)
    sign_entries(client, world, granted.json()["id"])
    workers = client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()
    assert [(w["status"], w["valid_until"]) for w in workers] == [("granted", "2027-02-20")]

    positive = record(
        client, world, bid, "lab_result", "intestinal_carriage", "positive", dt.date(2026, 3, 9), who="mis_a"
    )
    assert positive.status_code == 201 and positive.json()["source"] == "mis"
    entries = client.get(f"{API}/books/{bid}", headers=world.h["clin_a"]).json()["entries"]
    suspension, referral = entries[-2], entries[-1]
    assert suspension["kind"] == "clearance" and suspension["clearance"] == "suspended"
    assert suspension["caused_by_id"] == positive.json()["id"]
    assert referral["kind"] == "referral" and referral["referral_entity_id"] == world.b  # attached PHC (C-30)
    assert client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()[0]["status"] == "suspended"
    incoming = client.get(f"{API}/referrals/incoming", headers=world.h["reg_b"]).json()
    assert [(r["book_id"], r["cause_item"], r["cause_result"], r["open"]) for r in incoming] == [
        (bid, "intestinal_carriage", "positive", True)
    ]
    assert client.get(f"{API}/referrals/incoming", headers=world.h["clin_a"]).json() == []

    refused = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert refused.json()["code"] == "medbook.contraindication"
    assert record(client, world, bid, "lab_result", "intestinal_carriage", "negative").status_code == 201  # older
    assert (
        client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"}).json()[
            "code"
        ]
        == "medbook.contraindication"
    )
    assert (
        record(client, world, bid, "lab_result", "intestinal_carriage", "negative", dt.date(2026, 3, 10)).status_code
        == 201
    )
    back = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert back.status_code == 201 and back.json()["valid_until"] == "2027-02-20"
    assert client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()[0]["status"] == "suspended"
    assert client.get(f"{API}/referrals/incoming", headers=world.h["clin_b"]).json()[0]["open"] is True
    sign_entries(client, world, back.json()["id"])
    assert client.get(f"{API}/referrals/incoming", headers=world.h["clin_b"]).json()[0]["open"] is False
    assert client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()[0]["status"] == "granted"
    history = client.get(f"{API}/me", headers=world.h["cook"]).json()["entries"]
    assert [e["clearance"] for e in history if e["kind"] == "clearance"] == ["granted", "suspended", "granted"]


def test_referral_goes_to_the_nearest_participating_clinic_without_attachment(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    waiter = add_person(sessions, born=dt.date(1995, 1, 1), sex="male")
    with sessions() as s:
        iin = s.get(Person, waiter).iin  # type: ignore[union-attr]
    r = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world, iin=iin))
    bid = r.json()["id"]
    record(client, world, bid, "xray", "fluorography", "abnormal")
    entries = client.get(f"{API}/books/{bid}", headers=world.h["rt_a"]).json()["entries"]
    # The address is at (51.13, 71.43): clinic A's site (51.128, 71.4304) is nearest; X is excluded.
    assert entries[-1]["kind"] == "referral" and entries[-1]["referral_entity_id"] == world.a


def test_corrections_supersede_with_reason_and_keep_history(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    """Journey 8 (C-40, C-41)."""
    bid = issue_book(client, world)["id"]
    wrong = record(client, world, bid, "lab_result", "helminths", "negative", dt.date(2026, 3, 5)).json()
    url = f"{API}/entries/{wrong['id']}/correction"
    fixed = {
        "kind": "lab_result",
        "item_code": "helminths",
        "performed_on": "2026-03-04",
        "result": "negative",
        "codes": ["LOINC:10701-0"],
    }
    before = counts(sessions)
    for body, who, code in (
        (fixed, "clin_a", "medbook.correction_reason_required"),
        ({**fixed, "reason": "   "}, "clin_a", "medbook.correction_reason_required"),
        ({**fixed, "reason": "x"}, "clin_b", "medbook.not_staff"),
        ({**fixed, "reason": "x", "performed_on": "2026-03-11"}, "clin_a", "medbook.date_in_future"),
    ):
        r = client.post(url, headers=world.h[who], json=body)
        assert r.json()["code"] == code, (body, who, r.text)
    assert counts(sessions) == before
    r = client.post(url, headers=world.h["clin_a"], json={**fixed, "reason": "wrong date typed"})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["supersedes_id"] == wrong["id"] and new["reason"] == "wrong date typed"
    assert {(c["field"], json.dumps(c["old"]), json.dumps(c["new"])) for c in new["changes"]} == {
        ("performed_on", '"2026-03-05"', '"2026-03-04"'),
        ("codes", "[]", '["LOINC:10701-0"]'),
    }
    assert json.loads(new["canonical"])["supersedes"] == wrong["id"]
    entries = {e["id"]: e for e in client.get(f"{API}/books/{bid}", headers=world.h["clin_a"]).json()["entries"]}
    # until its author signs it the correction is pending and the entry it corrects stays in force (C-40)
    assert entries[wrong["id"]]["current"] is True and entries[wrong["id"]]["superseded_by_id"] is None
    assert entries[new["id"]]["current"] is False
    sign_entries(client, world, new["id"])
    entries = {e["id"]: e for e in client.get(f"{API}/books/{bid}", headers=world.h["clin_a"]).json()["entries"]}
    assert entries[wrong["id"]]["current"] is False and entries[wrong["id"]]["superseded_by_id"] == new["id"]
    assert entries[new["id"]]["current"] is True
    twice = client.post(url, headers=world.h["clin_a"], json={**fixed, "reason": "again"})
    assert twice.status_code == 409 and twice.json()["code"] == "medbook.entry_superseded"
    mark = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "refused"}).json()
    assert (
        client.post(
            f"{API}/entries/{mark['id']}/correction", headers=world.h["rt_a"], json={**fixed, "reason": "x"}
        ).json()["code"]
        == "medbook.not_correctable"
    )


def test_bad_input_is_refused_with_its_own_code_and_changes_nothing(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    bid = issue_book(client, world)["id"]
    clean_scope(client, world, bid, skip=("fluorography",))
    entry_id = client.get(f"{API}/books/{bid}", headers=world.h["clin_a"]).json()["entries"][0]["id"]
    before = counts(sessions)
    cases = [
        (
            f"{API}/books/999999/entries",
            "clin_a",
            {"kind": "xray", "item_code": "fluorography", "performed_on": "2026-03-01", "result": "negative"},
            404,
            "medbook.book_not_found",
        ),
        (
            f"{API}/books/{bid}/entries",
            "clin_b",
            {"kind": "xray", "item_code": "fluorography", "performed_on": "2026-03-01", "result": "negative"},
            403,
            "medbook.not_staff",
        ),
        (f"{API}/books/{bid}/clearance", "rt_a", {"decision": "granted"}, 422, "medbook.clearance_incomplete"),
        (
            f"{API}/entries/999999/correction",
            "clin_a",
            {"kind": "xray", "item_code": "fluorography", "performed_on": "2026-03-01", "reason": "x"},
            404,
            "medbook.entry_not_found",
        ),
        (
            f"{API}/books/{bid}/entries",
            "clin_a",
            {"kind": "xray", "item_code": "fluorography", "performed_on": "2026-03-11", "result": "negative"},
            422,
            "medbook.date_in_future",
        ),
        (
            f"{API}/books/{bid}/clearance",
            "rt_a",
            {"decision": "suspended", "performed_on": "2027-01-01"},
            422,
            "medbook.date_in_future",
        ),
        (f"{API}/books/{bid}/clearance", "rt_x", {"decision": "granted"}, 403, "medbook.not_staff"),
        (
            f"{API}/entries/{entry_id}/correction",
            "clin_a",
            {"kind": "xray", "item_code": "fluorography", "performed_on": "2026-03-01", "result": "negative"},
            422,
            "medbook.correction_reason_required",
        ),
        (
            f"{API}/entries/{entry_id}/correction",
            "clin_a",
            {
                "kind": "xray",
                "item_code": "fluorography",
                "performed_on": "2026-03-01",
                "result": "negative",
                "reason": " ",
            },
            422,
            "medbook.correction_reason_required",
        ),
    ]
    for url, who, body, status, code in cases:
        r = client.post(url, headers=world.h[who], json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (url, who, r.text)
    assert counts(sessions) == before


def test_the_employer_sees_status_and_dates_only_of_its_own_workers(client: TestClient, world: World) -> None:
    link_employers(client, world)
    bid = issue_book(client, world)["id"]
    clean_scope(client, world, bid)
    granted = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    sign_entries(client, world, granted.json()["id"])
    r = client.get(f"{API}/employer/workers", headers=world.h["employer"])
    assert r.status_code == 200 and len(r.json()) == 1
    assert not keys(r.json()) & JOURNAL_FIELDS
    assert set(r.json()[0]) == {
        "book_id",
        "surname",
        "given_name",
        "patronymic",
        "position",
        "status",
        "decided_on",
        "valid_until",
    }
    assert client.get(f"{API}/employer/workers", headers=world.h["other_employer"]).json() == []
    assert client.get(f"{API}/books/{bid}", headers=world.h["employer"]).status_code == 403
    reminders = client.get(f"{API}/reminders?within_days=365", headers=world.h["employer"]).json()
    assert [(x["book_id"], x["valid_until"]) for x in reminders] == [(bid, "2027-03-02")]
    assert not keys(reminders) & JOURNAL_FIELDS
    assert client.get(f"{API}/reminders?within_days=30", headers=world.h["fund"]).json() == []


def test_the_worker_reads_her_book_chooses_the_language_and_sees_who_read_it(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    """Journey 9 and C-10."""
    link_employers(client, world)
    bid = issue_book(client, world)["id"]
    record(client, world, bid, "specialist_exam", "therapist", "normal")
    found = client.post(
        f"{API}/books/lookup",
        headers=world.h["clin_a"],
        json={"iin": world.cook_iin, "purpose": "periodic examination"},
    )
    assert found.status_code == 200 and found.json()["id"] == bid
    elsewhere = client.post(f"{API}/books/lookup", headers=world.h["clin_b"], json={"iin": world.cook_iin})
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "identity.purpose_required"
    # issue 15: another clinic finds the book only with a stated purpose (test_a_book_elsewhere_looks_like_none)
    client.get(f"{API}/employer/workers", headers=world.h["employer"])
    mine = client.get(f"{API}/me", headers=world.h["cook"]).json()
    assert mine["entries"][0]["item_name"] == "Терапевт"
    assert mine["entries"][0]["signature_label"] == "Подпись ожидается"
    kk = client.put(f"{API}/me/language", headers=world.h["cook"], json={"language": "kk"}).json()
    assert kk["language"] == "kk" and kk["group_name"] == "Қоғамдық тамақтану"
    assert kk["entries"][0]["signature_label"] == "Қолтаңба күтілуде"
    reads = client.get(f"{API}/me/reads", headers=world.h["cook"]).json()
    purposes = {(r["role"], r["purpose"]) for r in reads}
    assert ("clinician", "periodic examination") in purposes
    assert ("employer", "employer: clearance status") in purposes and ("citizen", "owner") in purposes
    assert client.get(f"{API}/books/{bid}", headers=world.h["cook"]).status_code == 200
    stranger = add_person(sessions, born=dt.date(1980, 1, 1))
    _, token = make_actor(Role.CITIZEN, person_id=stranger)
    assert client.get(f"{API}/books/{bid}", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert (
        client.get(f"{API}/me/reads", headers={"Authorization": f"Bearer {token}"}).json()["code"]
        == "medbook.book_not_found"
    )


def test_a_retried_entry_with_the_same_idempotency_key_is_written_once(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    bid = issue_book(client, world)["id"]
    body = {"kind": "vaccination", "item_code": "diphtheria", "performed_on": "2026-01-15", "codes": ["ADS-M"]}
    headers = {**world.h["clin_a"], "Idempotency-Key": "vac-1"}
    first = client.post(f"{API}/books/{bid}/entries", headers=headers, json=body)
    before = counts(sessions)
    again = client.post(f"{API}/books/{bid}/entries", headers=headers, json=body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert counts(sessions) == before
    other = client.post(f"{API}/books/{bid}/entries", headers=headers, json={**body, "item_code": "measles"})
    assert other.json()["code"] == "core.idempotency_mismatch"


def test_a_book_elsewhere_looks_like_no_book_when_looked_up_by_iin(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    """Issue 14: 403-against-404 told a clinician whether an IIN has a medical book at another organization.

    Issue 15: a clinic that never recorded in the book finds it with a stated purpose, so the same answer is now
    asked of a lookup without a purpose (purpose required) and of an organization that may not examine for books
    (X: not registered in СУР)."""
    issue_book(client, world)
    with sessions() as s:
        no_book = s.get(Person, add_person(sessions, born=dt.date(1980, 1, 1))).iin  # type: ignore[union-attr]
    unknown = "880315301280"  # a valid IIN nobody holds
    for who, purpose, code in (
        ("clin_b", "", "identity.purpose_required"),
        ("rt_x", "exam", "medbook.book_not_found"),
    ):
        answers = [
            client.post(f"{API}/books/lookup", headers=world.h[who], json={"iin": iin, "purpose": purpose})
            for iin in (world.cook_iin, no_book, unknown)
        ]
        assert [(r.status_code, r.json()) for r in answers] == [(answers[1].status_code, answers[1].json())] * 3
        assert answers[0].json()["code"] == code
