"""A small country for attachment tests: the seeded policies, two entities in Astana and one in Almaty, and
moments inside and after the 2025 campaign."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.attachment.campaign.policy import seed_default_policies
from emhana.attachment.models import Application, ApplicationDocument, Attachment
from emhana.facilities.io import DistrictRecord
from emhana.facilities.models import District, Site
from emhana.facilities.service import apply_records, get_entity_by_bin
from emhana.kernel.clock import KZ_TIME
from tests.builders.facilities import entity_record, site_record

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


def make_country(sessions: sessionmaker[Session], fund: Actor) -> Country:
    """Write entities A (two sites) and B in Astana, one in Almaty, all participating, and the 2025/2026 policies."""
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


def table_counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    """Count the rows an application could write (to prove that a refusal writes nothing)."""
    with sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0 for t in (Application, ApplicationDocument, Attachment)
        )
