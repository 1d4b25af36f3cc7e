"""Plain facts for the pure attachment rules: a 2025 policy, an adult with an ID card, a district with room."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from emhana.attachment.enums import Channel, Holder, PlaceBasis
from emhana.attachment.rules import ApplicationFacts, CurrentFacts, DocumentFacts, PersonFacts, Policy, TargetFacts

D = dt.date
POLICY = Policy(
    year=2025,
    window_start=D(2025, 9, 1),
    window_end=D(2025, 11, 1),
    effective_date=D(2026, 1, 1),
    max_voluntary_changes_per_year=1,
)
IN_WINDOW = D(2025, 9, 10)
OUT_OF_WINDOW = D(2025, 12, 10)
ADULT = PersonFacts(birth_date=D(1988, 3, 15), death_date=None, category="citizen")
ID_CARD = DocumentFacts(kind="id_card", holder=Holder.PERSON, expires_on=D(2030, 1, 1))
REP_ID = DocumentFacts(kind="id_card", holder=Holder.APPLICANT, expires_on=None)
TARGET = TargetFacts(
    entity_participating=True,
    contract_to=None,
    district_id=7,
    profile="gp",
    capacity=10,
    attached=3,
    site_kato="711210000",
)
CURRENT = CurrentFacts(district_id=3, entity_participating=True, moved=True)


def facts(**kw: Any) -> ApplicationFacts:
    base = ApplicationFacts(
        filed_on=IN_WINDOW,
        today=IN_WINDOW,
        policy=POLICY,
        person=ADULT,
        by_self=True,
        representative_valid=False,
        channel=Channel.EGOV,
        documents=(ID_CARD,),
        basis=PlaceBasis.RESIDENCE_PERMANENT,
        address_kato="711410000",
        border_claim=False,
        reason=None,
        target=TARGET,
        current=CURRENT,
        voluntary_changes_this_year=0,
    )
    if "day" in kw:
        day = kw.pop("day")
        kw.update(filed_on=day, today=day)
    return dataclasses.replace(base, **kw)


def policy(**kw: Any) -> Policy:
    return dataclasses.replace(POLICY, **kw)


def person(born: dt.date, **kw: Any) -> PersonFacts:
    return dataclasses.replace(ADULT, birth_date=born, **kw)
