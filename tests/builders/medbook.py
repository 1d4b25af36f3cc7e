"""A small world for medical books: clinic A issues books (its responsible therapist appointed), PHC clinic B
where the cook is attached, clinic X excluded from the database (and not in СУР), the seeded catalogue; requests
that issue a book, record entries and grant clearance; a clock standing on 10 March 2026."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, actor_of, create_account, issue_token
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent, IdempotencyRecord
from emhana.facilities.io import DistrictRecord
from emhana.facilities.models import District, Site
from emhana.facilities.service import apply_records, get_entity_by_bin
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from emhana.medbook.catalogue import seed_catalogue
from emhana.medbook.infections import seed_infection_rules
from emhana.medbook.models import JournalEntry, MedicalBook, ResponsibleAppointment
from emhana.notify.models import Notification
from emhana.web.deps import SESSION_COOKIE
from tests.builders.facilities import entity_record, site_record
from tests.builders.people import add_person

NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=KZ_TIME)
TODAY = NOW.date()
EMPLOYER_BIN = "940140000385"
OTHER_BIN = "990140004654"
SCOPE_2015 = [
    ("specialist_exam", "therapist"),
    ("specialist_exam", "dermatovenerologist"),
    ("specialist_exam", "gynecologist"),
    ("xray", "fluorography"),
    ("lab_result", "intestinal_carriage"),
    ("lab_result", "helminths"),
    ("lab_result", "syphilis"),
    ("lab_result", "gonorrhea"),
    ("lab_result", "staphylococcus_swab"),
]


@dataclass
class World:
    a: int
    b: int
    x: int
    cook: int
    cook_iin: str
    h: dict[str, dict[str, str]]  # role name -> Authorization headers
    actors: dict[str, Actor]


def make_world(sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]) -> World:
    """Write the medical-book world (the clock stands on NOW) and return who is who."""
    fund, fund_token = make_actor(Role.FUND_ADMIN)
    a = entity_record("150340001236", sites=[site_record("A1", districts=[DistrictRecord("gp", 1, 50)])])
    b = entity_record(
        "201140004575", sites=[site_record("B1", lat=51.15, lon=71.45, districts=[DistrictRecord("gp", 1, 50)])]
    )
    x = entity_record(
        "180441000669",
        status="excluded",
        sur_registered_on=None,  # issue 15: not registered in СУР, so it may not issue books (C-04)
        sites=[site_record("X1", lat=51.10, lon=71.40, districts=[DistrictRecord("gp", 1, 5)])],
    )
    with sessions.begin() as s:
        seed_catalogue(s)
        seed_infection_rules(s)
        apply_records(session=s, actor=fund, records=[a, b, x])
        ids = [get_entity_by_bin(session=s, bin_=r.bin).id for r in (a, b, x)]
    cook = add_person(sessions, born=dt.date(1990, 5, 1), sex="female")
    actors: dict[str, Actor] = {"fund": fund}
    tokens: dict[str, str] = {"fund": fund_token}

    def make(role: Role, entity_id: int | None, person_id: int | None) -> tuple[Actor, str]:
        # Accounts without a password: argon2 hashing a dozen of them would dominate the test time.
        with sessions.begin() as s:
            account = create_account(
                session=s,
                username=f"mb-{role.value}-{len(actors)}",
                password=None,
                role=role,
                display_name=f"Test {role.value}",
                entity_id=entity_id,
                person_id=person_id,
            )
            actor = actor_of(account)
            return actor, issue_token(session=s, actor=actor, ttl=dt.timedelta(days=3650))  # tests move the clock

    for name, role, entity, person in (
        ("rt_a", Role.RESPONSIBLE_THERAPIST, ids[0], None),
        ("rt_a2", Role.RESPONSIBLE_THERAPIST, ids[0], None),
        ("clin_a", Role.CLINICIAN, ids[0], None),
        ("mis_a", Role.MIS_CLIENT, ids[0], None),
        ("clin_b", Role.CLINICIAN, ids[1], None),
        ("reg_b", Role.REGISTRAR, ids[1], None),
        ("rt_x", Role.RESPONSIBLE_THERAPIST, ids[2], None),
        ("cook", Role.CITIZEN, None, cook),
        ("employer", Role.EMPLOYER, None, None),
        ("other_employer", Role.EMPLOYER, None, None),
        ("admin_a", Role.ENTITY_ADMIN, ids[0], None),
    ):
        actors[name], tokens[name] = make(role, entity, person)
    with sessions.begin() as s:
        for name, entity in (("rt_a", ids[0]), ("rt_x", ids[2])):
            s.add(
                ResponsibleAppointment(
                    entity_id=entity,
                    account_id=actors[name].account_id,
                    valid_from=dt.date(2025, 1, 1),
                    appointed_at=NOW,
                )
            )
        site_b, district_b = s.execute(
            select(Site.id, District.id).join(District, District.site_id == Site.id).where(Site.code == "B1")
        ).one()
        s.add(
            Attachment(
                person_id=cook,
                entity_id=ids[1],
                site_id=site_b,
                district_id=district_b,
                place_basis="residence_permanent",
                cause="application",
                begin_date=dt.date(2025, 1, 1),
                decided_on=dt.date(2024, 12, 1),
            )
        )
        iin = s.get(Person, cook).iin  # type: ignore[union-attr]
    return World(
        a=ids[0],
        b=ids[1],
        x=ids[2],
        cook=cook,
        cook_iin=iin,
        actors=actors,
        h={k: {"Authorization": f"Bearer {t}"} for k, t in tokens.items()},
    )


def link_employers(client: TestClient, w: World) -> None:
    for name, bin_ in (("employer", EMPLOYER_BIN), ("other_employer", OTHER_BIN)):
        r = client.post(
            "/api/v1/medbook/employers",
            headers=w.h["fund"],
            json={"account_id": w.actors[name].account_id, "bin": bin_},
        )
        assert r.status_code == 204, r.text


def book_body(w: World, **kw: Any) -> dict[str, Any]:
    return {
        "iin": w.cook_iin,
        "profession": "повар",
        "position": "повар школьной столовой",
        "workplace": "Школа-лицей №5, столовая",
        "employer_bin": EMPLOYER_BIN,
        "group_code": "catering",
        "language": "ru",
        **kw,
    }


def issue_book(client: TestClient, w: World) -> dict[str, Any]:
    r = client.post("/api/v1/medbook/books", headers=w.h["rt_a"], json=book_body(w))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def record(
    client: TestClient,
    w: World,
    book_id: int,
    kind: str,
    code: str,
    result: str,
    on: dt.date = dt.date(2026, 3, 2),
    who: str = "clin_a",
) -> Any:
    return client.post(
        f"/api/v1/medbook/books/{book_id}/entries",
        headers=w.h[who],
        json={"kind": kind, "item_code": code, "performed_on": on.isoformat(), "result": result},
    )


def clean_scope(
    client: TestClient, w: World, book_id: int, on: dt.date = dt.date(2026, 3, 2), skip: tuple[str, ...] = ()
) -> None:
    for kind, code in SCOPE_2015:
        if code in skip:
            continue
        r = record(client, w, book_id, kind, code, "normal" if kind == "specialist_exam" else "negative", on)
        assert r.status_code == 201, r.text


def counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    """Rows a medical-book request could write (to prove a refusal writes nothing)."""
    with sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0
            for t in (MedicalBook, JournalEntry, ResponsibleAppointment, AuditEvent, Notification, IdempotencyRecord)
        )


def sign_in(client: TestClient, w: World, name: str) -> None:
    """Use the world's token as the browser session cookie (its accounts have no password)."""
    client.cookies.set(SESSION_COOKIE, w.h[name]["Authorization"].removeprefix("Bearer "))


def granted_book(client: TestClient, w: World, *, signed: bool = True) -> dict[str, Any]:
    """Issue the cook's book (ru), record the clean scope on 2 March 2026, grant clearance; return the book.
    ``signed``: the clinicians sign every entry and the clearance with the test PKI, so it can be sealed (C-06)."""
    from tests.builders.signatures import sign_book

    book_id = int(issue_book(client, w)["id"])
    clean_scope(client, w, book_id)
    r = client.post(f"/api/v1/medbook/books/{book_id}/clearance", headers=w.h["rt_a"], json={"decision": "granted"})
    assert r.status_code == 201, r.text
    if signed:
        sign_book(client, w, book_id)
    return client.get(f"/api/v1/medbook/books/{book_id}", headers=w.h["rt_a"]).json()  # type: ignore[no-any-return]


def journal(client: TestClient, w: World, n: int = 3) -> tuple[int, list[int]]:
    """Issue the cook's book and record n entries; return the book id and the entry ids."""
    book = issue_book(client, w)
    ids = []
    for code in ("therapist", "dermatovenerologist", "gynecologist")[:n]:
        r = record(client, w, book["id"], "specialist_exam", code, "normal")
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return book["id"], ids


def csrf_of(html: str) -> str:
    """Return the CSRF token of a page's form."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def form(entry_id: int, **changes: str) -> dict[str, str]:
    """The desk's correction form for an entry, with the fields a test changes."""
    return {
        "entry_id": str(entry_id),
        "kind": "specialist_exam",
        "item_code": "therapist",
        "performed_on": "2026-03-02",
        "result": "normal",
        "result_text": "без патологии",
        "reason": "ошибка при вводе результата",
        **changes,
    }


# --- Issue 15: the book across clinics and jobs ------------------------------------------------------------------

CAFE_IIN = "880315301280"  # an individual entrepreneur's café: the employer is named by the owner's IIN
CAFE_JOB = {
    "profession": "повар",
    "position": "повар-кондитер",
    "workplace": "Кафе «Жібек жолы»",
    "employer_number": CAFE_IIN,
    "group_code": "catering",
}


def add_clinic(
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    w: World,
    name: str,
    bin_: str,
    *,
    sur_registered_on: dt.date | None = dt.date(2015, 3, 1),
) -> int:
    """Register one more clinic (registered in СУР unless told) with a responsible therapist ``rt_<name>`` and a
    clinician ``clin_<name>`` in the world's headers; return its id."""
    record_ = entity_record(
        bin_,
        sur_registered_on=sur_registered_on,
        sites=[site_record(f"{name.upper()}1", lat=51.12, lon=71.42, districts=[DistrictRecord("gp", 1, 50)])],
    )
    with sessions.begin() as s:
        apply_records(session=s, actor=w.actors["fund"], records=[record_])
        entity_id = get_entity_by_bin(session=s, bin_=bin_).id
    for prefix, role in (("rt", Role.RESPONSIBLE_THERAPIST), ("clin", Role.CLINICIAN)):
        actor, token = make_actor(role, entity_id=entity_id)
        w.actors[f"{prefix}_{name}"], w.h[f"{prefix}_{name}"] = actor, {"Authorization": f"Bearer {token}"}
    return entity_id


def add_employer(
    client: TestClient, w: World, make_actor: Callable[..., tuple[Actor, str]], name: str, number: str
) -> None:
    """Create an employer account ``name`` linked by the Fund to a BIN or an entrepreneur's IIN."""
    actor, token = make_actor(Role.EMPLOYER)
    w.actors[name], w.h[name] = actor, {"Authorization": f"Bearer {token}"}
    r = client.post(
        "/api/v1/medbook/employers", headers=w.h["fund"], json={"account_id": actor.account_id, "bin": number}
    )
    assert r.status_code == 204, r.text
