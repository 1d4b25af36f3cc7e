"""A small country for attachment tests: the seeded policies, two entities in Astana and one in
Almaty, persons with addresses and documents, and a clock that stands inside the 2025 campaign."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.models import Application, ApplicationDocument, Attachment
from emhana.attachment.policy import seed_default_policies
from emhana.facilities.io import DistrictRecord
from emhana.facilities.models import District, Site
from emhana.facilities.service import apply_records, get_entity_by_bin
from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress
from emhana.identity.rules import Sex, make_iin
from emhana.kernel import clock
from emhana.kernel.clock import KZ_TIME
from tests.factories import entity_record, site_record

IN_WINDOW = dt.datetime(2025, 9, 10, 10, 0, tzinfo=KZ_TIME)  # a Wednesday of the 2025 campaign
AFTER_WINDOW = dt.datetime(2025, 12, 10, 10, 0, tzinfo=KZ_TIME)


@dataclass
class Country:
    """Ids of the test world: entity -> {(site code, district number): district id}."""

    a: int
    b: int
    almaty: int
    districts: dict[tuple[str, int], int]
    sites: dict[str, int]


@pytest.fixture
def now() -> Iterator[Callable[[dt.datetime], None]]:
    """Set the process's clock; it starts inside the 2025 campaign."""
    fixed = clock.Fixed(IN_WINDOW)
    with clock.use(fixed):
        yield fixed.set


@pytest.fixture
def country(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], now: Callable[[dt.datetime], None]
) -> Country:
    """Entities A (two sites) and B in Astana, one in Almaty, all participating; the 2025/2026 policies."""
    fund, _ = make_actor(Role.FUND_ADMIN)
    a = entity_record(
        "150340001236",
        sites=[
            site_record(
                "A1",
                districts=[
                    DistrictRecord("gp", 1, 5),
                    DistrictRecord("pediatric", 2, 5),
                    DistrictRecord("therapist", 3, 1),
                ],
            ),
            site_record("A2", lat=51.16, lon=71.47, kato="711210000", districts=[DistrictRecord("gp", 1, 5)]),
        ],
    )
    b = entity_record(
        "201140004575", sites=[site_record("B1", lat=51.15, lon=71.45, districts=[DistrictRecord("gp", 1, 5)])]
    )
    almaty = entity_record(
        "180441000669",
        sites=[site_record("C1", lat=43.25, lon=76.91, kato="750000000", districts=[DistrictRecord("gp", 1, 5)])],
    )
    with sessions.begin() as s:
        seed_default_policies(s)
        apply_records(session=s, actor=fund, records=[a, b, almaty])
        ids = [get_entity_by_bin(session=s, bin_=r.bin).id for r in (a, b, almaty)]
        rows = s.execute(
            select(Site.code, Site.id, District.number, District.id).join(District, District.site_id == Site.id)
        ).all()
    return Country(
        a=ids[0],
        b=ids[1],
        almaty=ids[2],
        districts={(c, n): d for c, _, n, d in rows},
        sites={c: s_id for c, s_id, _, _ in rows},
    )


_serial = itertools.count(100)


def add_person(
    sessions: sessionmaker[Session],
    *,
    born: dt.date = dt.date(1988, 3, 15),
    sex: str = "male",
    category: str = "citizen",
    kato: str = "710000000",
    death: dt.date | None = None,
    documents: list[tuple[str, dt.date | None]] | None = None,
    addresses: list[tuple[str, str]] | None = None,
) -> int:
    """Register a person with addresses (kind, KATO) and identity documents (kind, expires_on)."""
    iin = None
    while iin is None:
        iin = make_iin(born, Sex(sex), next(_serial))
    with sessions.begin() as s:
        p = Person(
            iin=iin, surname="Тестов", given_name="Тест", birth_date=born, sex=sex, category=category, death_date=death
        )
        p.addresses = [
            PersonAddress(kind=k, kato_code=code, kato_version="NK RK 11-2025", lat=51.13, lon=71.43)
            for k, code in (addresses if addresses is not None else [("permanent", kato)])
        ]
        p.documents = [
            IdentityDocument(kind=k, number=f"N{next(_serial)}", expires_on=e)
            for k, e in (documents if documents is not None else [("id_card", None)])
        ]
        s.add(p)
        s.flush()
        return p.id


def represent(
    sessions: sessionmaker[Session], representative: int, child: int, valid_to: dt.date | None = None
) -> None:
    with sessions.begin() as s:
        s.add(
            LegalRepresentation(
                representative_id=representative,
                represented_id=child,
                basis="parent",
                basis_document="birth certificate",
                valid_from=dt.date(2000, 1, 1),
                valid_to=valid_to,
            )
        )


@pytest.fixture
def person(sessions: sessionmaker[Session]) -> Callable[..., int]:
    def make(**kw: Any) -> int:
        return add_person(sessions, **kw)

    return make


def table_counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    """Count the rows an application could write (to prove that a refusal writes nothing)."""
    with sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0 for t in (Application, ApplicationDocument, Attachment)
        )


@pytest.fixture
def counts(sessions: sessionmaker[Session]) -> Callable[[], tuple[int, ...]]:
    return lambda: table_counts(sessions)
