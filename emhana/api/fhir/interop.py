"""The interop operators' JSON API under /api/v1/interop: the dead-letter queue, replays, sync status, the
code map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.api.fhir.transaction import trust_of
from emhana.fhir import deadletter
from emhana.fhir.codemap import CodeMapIn, CodeMapOut, list_codes, put_code
from emhana.fhir.inbound import Rejected
from emhana.kernel import clock
from emhana.kernel.i18n import N_
from emhana.web.deps import SessionDep, require
from emhana.web.idempotency import IdempotencyKey, idempotent_json, idempotent_no_content
from emhana.web.problems import problem

interop = APIRouter(prefix="/interop", tags=["interop"])
REPLAY_REFUSED = N_("The bundle was refused again; its dead letters name the problems.")

# --- Interop operators (JSON API under /api/v1) ----------------------------------------------------------


class LetterOut(BaseModel):
    id: int
    bundle_id: int
    position: int | None
    resource_type: str
    resource_id: str
    code: str
    reason: str
    expression: str
    created_at: Any
    resolved_at: Any
    resolution: str | None
    bundle_state: str
    attempts: int
    account_id: int
    entity_id: int | None


class LettersOut(BaseModel):
    total: int
    items: list[LetterOut]


class ReplayOut(BaseModel):
    bundle_id: int
    state: str
    written: int


class SyncStatusOut(BaseModel):
    bundles_accepted: int
    bundles_rejected: int
    resources_ingested: int
    open_dead_letters: int
    resolved_dead_letters: int
    last_success_at: Any
    last_failure_at: Any
    oldest_open_failure_at: Any
    lag_seconds: float | None


@interop.get("/dead-letters", response_model=LettersOut)
def dead_letters(
    session: SessionDep,
    actor: Annotated[Actor, require(Can.WATCH_INTEROP)],
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> LettersOut:
    """List dead letters (open ones by default), oldest first; the Fund sees all, others their organization's."""
    total, rows = deadletter.list_letters(
        session=session, actor=actor, include_resolved=include_resolved, limit=limit, offset=offset
    )
    return LettersOut(total=total, items=[_letter_out(v) for v in rows])


def _letter_out(v: deadletter.LetterView) -> LetterOut:
    return LetterOut(
        id=v.letter.id,
        bundle_id=v.bundle.id,
        position=v.letter.position,
        resource_type=v.letter.resource_type,
        resource_id=v.letter.resource_id,
        code=v.letter.code,
        reason=v.letter.reason,
        expression=v.letter.expression,
        created_at=v.letter.created_at,
        resolved_at=v.letter.resolved_at,
        resolution=v.letter.resolution,
        bundle_state=v.bundle.state,
        attempts=v.bundle.attempts,
        account_id=v.bundle.account_id,
        entity_id=v.bundle.entity_id,
    )


@interop.get("/dead-letters/{letter_id}", response_model=LetterOut)
def dead_letter(letter_id: int, session: SessionDep, actor: Annotated[Actor, require(Can.WATCH_INTEROP)]) -> LetterOut:
    """One dead letter: the refusal a FHIR transaction's OperationOutcome names (its extension and Location)."""
    return _letter_out(deadletter.get_letter(session=session, actor=actor, letter_id=letter_id))


@interop.post("/bundles/{bundle_id}/replay", response_model=ReplayOut)
def replay(
    bundle_id: int,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.REPLAY_DEAD_LETTER)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Replay a refused bundle after the mapping or the data was fixed (a refusal keeps no key: retry it)."""
    now = clock.now()

    def run() -> tuple[int, dict[str, Any]]:
        accepted = deadletter.replay(
            session=session, actor=actor, bundle_id=bundle_id, trust=trust_of(request), now=now
        )
        written = sum(1 for r in accepted.results if r.created)
        return 200, ReplayOut(bundle_id=bundle_id, state="accepted", written=written).model_dump()

    try:
        return idempotent_json(
            session=session, actor=actor, key=idempotency_key, payload={"bundle": bundle_id}, run=run
        )
    except Rejected as exc:
        session.rollback()
        deadletter.record_replay_failure(session=session, actor=actor, bundle_id=bundle_id, rejected=exc, now=now)
        return problem(
            request,
            status=exc.status,
            code="fhir.replay_refused",
            template=REPLAY_REFUSED,
            errors_=[
                {"code": f.issue.emhana_code, "loc": list(f.issue.expression), "message": f.issue.english()}
                for f in exc.findings
            ],
        )


@interop.post("/bundles/{bundle_id}/discard", status_code=204)
def discard(
    bundle_id: int,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.REPLAY_DEAD_LETTER)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Close a refused bundle's dead letters without replaying it."""

    def run() -> None:
        deadletter.discard(session=session, actor=actor, bundle_id=bundle_id, now=clock.now())

    return idempotent_no_content(
        session=session, actor=actor, key=idempotency_key, payload={"bundle": bundle_id}, run=run
    )


@interop.get("/sync-status", response_model=SyncStatusOut)
def sync_status(session: SessionDep, actor: Annotated[Actor, require(Can.WATCH_INTEROP)]) -> SyncStatusOut:
    """Counts of accepted and refused bundles, ingested resources, dead letters, the last success and the lag."""
    s = deadletter.status(session=session, actor=actor, now=clock.now())
    return SyncStatusOut(**s.__dict__)


@interop.get("/code-map", response_model=list[CodeMapOut], dependencies=[require(Can.WATCH_INTEROP)])
def code_map(session: SessionDep, system: str | None = None) -> list[CodeMapOut]:
    """The code map: which LOINC, ICD-10, CVX or local code becomes which journal entry kind and item."""
    return list_codes(session=session, system=system)


@interop.put("/code-map", response_model=CodeMapOut)
def put_code_map(body: CodeMapIn, session: SessionDep, actor: Annotated[Actor, require(Can.MAP_CODES)]) -> CodeMapOut:
    """Add or change one mapping (the Fund) to an item of the catalogue for its kind; replaying dead letters then
    applies it."""
    return put_code(session=session, actor=actor, data=body, now=clock.now())
