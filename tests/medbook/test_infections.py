"""Infection rules as data and diagnoses that suspend (C-12, C-30, C-31): the Fund adds and ends rules (audited,
never edited in place); an active diagnosis that a rule bars suspends clearance at once with a referral and the
notices, exactly as a positive test does; a resolved one is history; a grant is refused while a barring diagnosis
is active; a malformed or unknown code, or a diagnosis without its status, is refused and writes nothing."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.medbook.infections import default_rule_rows
from emhana.medbook.models import InfectionRule, JournalEntry
from emhana.medbook.suspension import CLINIC_TEMPLATE, EMPLOYER_TEMPLATE, WORKER_TEMPLATE
from emhana.notify.models import Notification
from tests.builders.medbook import TODAY, World, clean_scope, counts, issue_book, link_employers, sign_in
from tests.builders.signatures import sign_book, sign_entries

API = "/api/v1/medbook"
MIGRATION = Path(__file__).parents[2] / "emhana" / "migrations" / "versions" / "0019_medbook_infection_rules.py"


def diagnosis(
    client: TestClient,
    w: World,
    book_id: int,
    code: str,
    status: str | None,
    *,
    kind: str = "specialist_diagnosis",
    on: dt.date = dt.date(2026, 3, 9),
    who: str = "clin_a",
) -> Any:
    body: dict[str, Any] = {
        "kind": kind,
        "item_code": "phthisiatrician",
        "performed_on": on.isoformat(),
        "codes": [code],
    }
    if status is not None:
        body["clinical_status"] = status
    return client.post(f"{API}/books/{book_id}/entries", headers=w.h[who], json=body)


def grant(client: TestClient, w: World, book_id: int) -> Any:
    """Grant clearance and sign it (a grant counts once its clinician signed it, C-06)."""
    r = client.post(f"{API}/books/{book_id}/clearance", headers=w.h["rt_a"], json={"decision": "granted"})
    if r.status_code == 201:
        sign_entries(client, w, int(r.json()["id"]))
    return r


def granted(client: TestClient, w: World) -> int:
    book_id = int(issue_book(client, w)["id"])
    clean_scope(client, w, book_id)
    r = grant(client, w, book_id)
    assert r.status_code == 201, r.text
    return book_id


def book(client: TestClient, w: World, book_id: int) -> dict[str, Any]:
    r = client.get(f"{API}/books/{book_id}", headers=w.h["rt_a"])
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def kinds(client: TestClient, w: World, book_id: int) -> list[tuple[str, str | None]]:
    return [(e["kind"], e["clearance"]) for e in book(client, w, book_id)["entries"]]


def messages(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        templates = (WORKER_TEMPLATE, EMPLOYER_TEMPLATE, CLINIC_TEMPLATE)
        return sorted(s.scalars(select(Notification.template).where(Notification.template.in_(templates))))


def rule_body(**kw: Any) -> dict[str, Any]:
    return {
        "code": "A37",
        "kind": "diagnosis",
        "name_kk": "Көкжөтел",
        "name_ru": "Коклюш",
        "name_en": "Whooping cough",
        "groups": ["children"],
        "source": "test",
        "valid_from": "2026-03-01",
        **kw,
    }


def test_the_packaged_list_is_what_migration_0019_seeds() -> None:
    spec = importlib.util.spec_from_file_location("m0019", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    packaged = default_rule_rows()
    embedded = [(c, k, kk, ru, en, g) for c, k, kk, ru, en, g in module.RULES]
    assert embedded == [(r["code"], r["kind"], r["name_kk"], r["name_ru"], r["name_en"], r["groups"]) for r in packaged]
    assert {r["source"] for r in packaged} == {module.SOURCE} and not any(r["verified"] for r in packaged)
    assert {r["valid_from"] for r in packaged} == {module.VALID_FROM}
    codes = {r["code"] for r in packaged}
    assert {"A15", "A16", "A01", "A03", "B15", "A51", "A54", "B35", "B86", "B65-B83", "Z22.0", "Z22.1"} <= codes


def test_the_fund_adds_and_ends_rules_everyone_reads_them(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    listed = client.get(f"{API}/infection-rules")  # public, like the catalogue of decreed groups
    assert listed.status_code == 200
    assert {r["code"] for r in listed.json()} >= {"A15", "Z22.0"}
    assert all(not r["verified"] and "not retrieved" in r["source"] for r in listed.json())
    assert client.post(f"{API}/infection-rules", headers=world.h["rt_a"], json=rule_body()).status_code == 403

    added = client.post(f"{API}/infection-rules", headers=world.h["fund"], json=rule_body())
    assert added.status_code == 201, added.text
    assert added.json()["groups"] == ["children"] and added.json()["in_force"]
    # a new version of a rule in force ends the old one where it begins; an earlier one is refused
    again = client.post(f"{API}/infection-rules", headers=world.h["fund"], json=rule_body(valid_from="2026-03-05"))
    assert again.status_code == 201, again.text
    first = client.get(f"{API}/infection-rules?ended=true").json()
    assert [(r["valid_from"], r["valid_to"]) for r in first if r["code"] == "A37"] == [
        ("2026-03-01", "2026-03-05"),
        ("2026-03-05", None),
    ]
    before = counts(sessions)
    for body in (
        rule_body(valid_from="2026-03-02"),  # not after the version in force
        rule_body(code="A45"),  # ICD-10 has no A45
        rule_body(code="A15.0.1"),
        rule_body(code="B83-B65"),
        rule_body(groups=["astronauts"]),
    ):
        r = client.post(f"{API}/infection-rules", headers=world.h["fund"], json=body)
        assert r.status_code == 422 and r.json()["code"] == "medbook.invalid_infection_rule", r.text
        assert r.json()["messages"]["ru"] != r.json()["messages"]["en"]
    assert counts(sessions) == before  # a refusal writes nothing

    rid = again.json()["id"]
    ended = client.post(f"{API}/infection-rules/{rid}/end", headers=world.h["fund"], json={"valid_to": "2026-03-10"})
    assert ended.status_code == 200 and ended.json()["valid_to"] == "2026-03-10" and not ended.json()["in_force"]
    twice = client.post(f"{API}/infection-rules/{rid}/end", headers=world.h["fund"], json={"valid_to": "2026-03-11"})
    assert twice.status_code == 422 and twice.json()["code"] == "medbook.invalid_infection_rule"
    missing = client.post(f"{API}/infection-rules/987654/end", headers=world.h["fund"], json={"valid_to": "2026-03-11"})
    assert missing.status_code == 404 and missing.json()["code"] == "medbook.infection_rule_not_found"
    assert "A37" not in {r["code"] for r in client.get(f"{API}/infection-rules").json()}
    with sessions() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("medbook.infection_rule%"))))
        assert actions == ["medbook.infection_rule_added"] * 2 + ["medbook.infection_rule_ended"]
        assert s.scalar(select(func.count()).select_from(InfectionRule).where(InfectionRule.code == "A37")) == 2


def test_an_active_diagnosis_suspends_refers_and_tells_as_a_positive_test_does(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    link_employers(client, world)
    bid = granted(client, world)
    r = diagnosis(client, world, bid, "a15.0", "active", who="mis_a")
    assert r.status_code == 201, r.text
    assert r.json()["codes"] == ["A15.0"] and r.json()["clinical_status"] == "active"
    out = book(client, world, bid)
    assert out["clearance"]["status"] == "suspended"
    suspension, referral = out["entries"][-2:]
    assert (suspension["kind"], suspension["clearance"], suspension["caused_by_id"]) == (
        "clearance",
        "suspended",
        r.json()["id"],
    )
    assert (referral["kind"], referral["referral_entity_id"]) == ("referral", world.b)  # the attached PHC
    assert messages(sessions) == sorted([WORKER_TEMPLATE, EMPLOYER_TEMPLATE, CLINIC_TEMPLATE])
    # the book shows the diagnosis by name and status, in the book's language
    entry = next(e for e in out["entries"] if e["id"] == r.json()["id"])
    assert entry["diagnoses"] == [
        "Туберкулез органов дыхания, подтвержденный бактериологически и гистологически (A15.0)"
    ]
    assert entry["item_name"] == entry["diagnoses"][0]

    # C-31: no grant while it is active, even with the whole scope clean and current
    refused = grant(client, world, bid)
    assert refused.status_code == 422 and refused.json()["code"] == "medbook.diagnosis_bars_work", refused.text
    messages_ = refused.json()["messages"]
    assert "Respiratory tuberculosis" in messages_["en"] and "Туберкулез органов дыхания" in messages_["ru"]
    assert "тыныс алу ағзаларының туберкулезі" in messages_["kk"]
    # recovered: a later resolved diagnosis of the same category, then the grant
    resolved = diagnosis(client, world, bid, "A15.0", "resolved", on=TODAY)
    assert resolved.status_code == 201, resolved.text
    assert kinds(client, world, bid)[-1] == ("specialist_diagnosis", None)  # nothing suspended again
    assert grant(client, world, bid).status_code == 201


def test_a_resolved_diagnosis_is_history_and_rules_bar_only_their_groups(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    link_employers(client, world)
    bid = granted(client, world)
    for code, status in (("A15.0", "resolved"), ("J45.9", "active"), ("Z22.3", "resolved")):
        r = diagnosis(client, world, bid, code, status, kind="past_infection" if code < "C" else "specialist_diagnosis")
        assert r.status_code == 201, r.text
    # the Fund's rule for children's organizations only: the cook (public catering) is not barred by it
    assert client.post(f"{API}/infection-rules", headers=world.h["fund"], json=rule_body()).status_code == 201
    assert diagnosis(client, world, bid, "A37", "active").status_code == 201
    assert book(client, world, bid)["clearance"]["status"] == "granted"
    assert messages(sessions) == []
    assert grant(client, world, bid).status_code == 201
    # a rule the Fund ended no longer bars work
    tb = next(r for r in client.get(f"{API}/infection-rules").json() if r["code"] == "A16")
    end = client.post(f"{API}/infection-rules/{tb['id']}/end", headers=world.h["fund"], json={"valid_to": "2026-03-10"})
    assert end.status_code == 200, end.text
    assert diagnosis(client, world, bid, "A16.0", "active").status_code == 201
    assert book(client, world, bid)["clearance"]["status"] == "granted"


def test_a_diagnosis_needs_a_known_code_and_its_status_and_a_refusal_writes_nothing(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    bid = int(issue_book(client, world)["id"])
    before = counts(sessions)
    for code, status, expected in (
        ("A45.0", "active", "medbook.invalid_diagnosis_code"),  # ICD-10 has no A45
        ("A15.0.1", "active", "medbook.invalid_diagnosis_code"),
        ("туберкулез", "active", "medbook.invalid_diagnosis_code"),
        ("A15.0", None, "medbook.diagnosis_incomplete"),
    ):
        r = diagnosis(client, world, bid, code, status)
        assert r.status_code == 422 and r.json()["code"] == expected, r.text
        assert len({r.json()["messages"][lang] for lang in ("kk", "ru", "en")}) == 3
    no_code = client.post(
        f"{API}/books/{bid}/entries",
        headers=world.h["clin_a"],
        json={"kind": "past_infection", "item_code": "x", "performed_on": "2026-03-02", "clinical_status": "active"},
    )
    assert no_code.status_code == 422 and no_code.json()["code"] == "medbook.diagnosis_incomplete"
    lab = client.post(
        f"{API}/books/{bid}/entries",
        headers=world.h["clin_a"],
        json={
            "kind": "lab_result",
            "item_code": "syphilis",
            "performed_on": "2026-03-02",
            "result": "negative",
            "clinical_status": "active",
        },
    )
    assert lab.status_code == 422 and lab.json()["code"] == "medbook.clinical_status_not_allowed", lab.text
    assert counts(sessions) == before
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.book_id == bid)) == 0


def test_a_correction_to_resolved_lifts_the_bar_and_the_desk_names_the_diagnosis(
    client: TestClient, world: World
) -> None:
    bid = granted(client, world)
    r = diagnosis(client, world, bid, "B86", "active", kind="past_infection")
    assert r.status_code == 201, r.text
    assert book(client, world, bid)["clearance"]["status"] == "suspended"
    fixed = client.post(
        f"{API}/entries/{r.json()['id']}/correction",
        headers=world.h["clin_a"],
        json={
            "kind": "past_infection",
            "item_code": "phthisiatrician",
            "performed_on": "2026-03-09",
            "codes": ["B86"],
            "clinical_status": "resolved",
            "reason": "scabies ruled out at the control visit",
        },
    )
    assert fixed.status_code == 201, fixed.text
    assert [c["field"] for c in fixed.json()["changes"]] == ["clinical_status"]
    assert grant(client, world, bid).json()["code"] == "medbook.diagnosis_bars_work"  # C-40: not signed yet
    sign_book(client, world, bid)  # the correction takes effect once its author signed it
    assert grant(client, world, bid).status_code == 201
    # the book is shown in its own language, Kazakh or Russian (C-10): the diagnosis by its name and status
    sign_in(client, world, "rt_a")
    page = client.get(f"/medbook/desk/books/{bid}?lang=en")
    assert page.status_code == 200 and "Разрешившийся (прошлый) диагноз" in page.text and "Чесотка (B86)" in page.text
    chosen = client.put(f"{API}/me/language", headers=world.h["cook"], json={"language": "kk"})
    assert chosen.status_code == 200, chosen.text
    page = client.get(f"/medbook/desk/books/{bid}?lang=ru")
    assert "Жазылған (өткен) диагноз" in page.text and "Қотыр (B86)" in page.text
    assert "Белсенді диагноз" in page.text  # the first version, superseded, stays in the history
