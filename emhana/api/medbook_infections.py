"""Routes of the infection rules (C-30): the diagnoses and carrier states that bar work in decreed groups while
active. Everyone may read the list (it holds no personal data, like the catalogue of decreed groups); the Fund
adds a rule or ends one, never edits one in place. Every POST takes an Idempotency-Key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.medbook import infections
from emhana.medbook.infections import EndRuleIn, InfectionRuleIn, InfectionRuleOut
from emhana.web.deps import SessionDep, public, require
from emhana.web.idempotency import idempotent_json

router = APIRouter(prefix="/medbook", tags=["medbook"])
IdempotencyKey = Annotated[str | None, Header()]
Fund = Annotated[Actor, require(Can.SET_DECREED_GROUPS)]


@router.get("/infection-rules", response_model=list[InfectionRuleOut], dependencies=[public()])
def infection_rules(
    session: SessionDep,
    ended: Annotated[bool, Query(description="Also the rules that have ended")] = False,
) -> list[InfectionRuleOut]:
    """List the diagnoses and carrier states that bar work (those in force today; with ``ended``, every version)."""
    return infections.listing(session=session, day=clock.today(), ended=ended)


@router.post("/infection-rules", response_model=InfectionRuleOut, status_code=201)
def add_infection_rule(
    body: InfectionRuleIn, session: SessionDep, actor: Fund, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Add the Fund's rule; a rule of the same code in force ends where the new one begins."""

    def run() -> tuple[int, dict[str, Any]]:
        row = infections.add_rule(session=session, actor=actor, data=body, now=clock.now())
        return 201, infections.out(row, clock.today()).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.post("/infection-rules/{rule_id}/end", response_model=InfectionRuleOut)
def end_infection_rule(
    rule_id: int, body: EndRuleIn, session: SessionDep, actor: Fund, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """End a rule: from that day it no longer bars work."""

    def run() -> tuple[int, dict[str, Any]]:
        row = infections.end_rule(session=session, actor=actor, rule_id=rule_id, data=body, now=clock.now())
        return 200, infections.out(row, clock.today()).model_dump(mode="json")

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"rule": rule_id, **body.model_dump(mode="json")},
        run=run,
    )
