"""A-94 through the API: the Fund's exclusion of an entity redistributes its people in the same request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.attachment import capitation
from emhana.attachment.models import Attachment
from emhana.facilities.models import District
from emhana.kernel.clock import KZ_TIME
from tests.builders.attachment import AFTER_WINDOW, Country

URL = "/api/v1/attachment"


def test_exclusion_moves_people_to_free_places_and_keeps_past_snapshots(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
    sessions: sessionmaker[Session],
) -> None:
    now(AFTER_WINDOW)
    fund = auth(Role.FUND_ADMIN)
    in_b = [person() for _ in range(3)]
    in_a = [person() for _ in range(4)]
    for pids, district in ((in_b, country.districts[("B1", 1)]), (in_a, country.districts[("A1", 1)])):
        for pid in pids:
            answer = client.post(
                f"{URL}/applications",
                headers=auth(Role.CITIZEN, person_id=pid),
                json={"person_id": pid, "district_id": district},
            )
            assert answer.status_code == 201 and answer.json()["state"] == "approved", answer.text
    now(dt.datetime(2025, 12, 16, 10, tzinfo=KZ_TIME))
    snap = client.post(f"{URL}/capitation/snapshots", headers=fund, json={"as_of": "2025-12-15"})
    assert snap.status_code == 201, snap.text
    before = snap.json()
    assert {c["entity_id"] for c in before["counts"]} == {country.a, country.b} and before["total"] == 7

    excluded = client.post(
        f"/api/v1/facilities/entities/{country.b}/inclusions",
        headers=fund,
        json={"status": "excluded", "effective_from": "2025-12-20", "reason": "licence revoked"},
    )
    assert excluded.status_code == 201, excluded.text

    for pid in in_b:
        view = client.get(f"{URL}/persons/{pid}?purpose=oversight", headers=fund).json()  # the Fund states why
        new, old = view["history"]
        assert view["upcoming"] == new and new["entity_id"] == country.a and new["cause"] == "redistribution"
        assert new["begin_date"] == "2025-12-20" and new["end_date"] is None
        assert old["entity_id"] == country.b and (old["end_date"], old["end_reason"]) == ("2025-12-19", "transfer")
    with sessions() as s:
        load = dict(
            s.execute(
                select(Attachment.district_id, func.count())
                .where(Attachment.end_date.is_(None))
                .group_by(Attachment.district_id)
            ).all()
        )
        capacity = dict(s.execute(select(District.id, District.capacity)).all())
        assert all(n <= capacity[d] for d, n in load.items())  # only free places were taken
        assert (
            s.scalar(
                select(func.count())
                .select_from(Attachment)
                .where(Attachment.entity_id == country.b, Attachment.end_date.is_(None))
            )
            == 0
        )
        again = capitation.compute_counts(session=s, as_of=dt.date(2025, 12, 15))
    assert again == {(c["entity_id"], c["sex"], c["band"]): c["count"] for c in before["counts"]}
    stored = client.get(f"{URL}/capitation/snapshots", headers=fund).json()
    keep = ("id", "as_of", "bands", "total", "counts")  # the snapshot of the 15th is unchanged
    assert [{k: s[k] for k in keep} for s in stored] == [{k: before[k] for k in keep}]
    after = client.post(f"{URL}/entities/{country.b}/redistribute", headers=fund, json={"on": "2025-12-20"})
    assert after.status_code == 200 and after.json() == {"moved": 0, "unplaced_person_ids": []}
