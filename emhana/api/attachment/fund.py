"""Routes of the Fund for the attachment campaign: campaign policies (A-34), detachment (A-91..A-93),
redistribution of an excluded entity's people (A-94), the daily job and capitation snapshots (A-120)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.background import BackgroundTask

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment import capitation, outputs, placement
from emhana.attachment.campaign import policy
from emhana.attachment.enums import DEFAULT_BANDS, EndReason
from emhana.attachment.models import CapitationSnapshot
from emhana.attachment.schemas import (
    CountOut,
    DailyIn,
    DailyOut,
    DetachIn,
    PolicyIn,
    PolicyOut,
    RedistributeIn,
    RedistributeOut,
    SnapshotIn,
    SnapshotOut,
)
from emhana.audit.idempotency import run_once
from emhana.kernel import clock
from emhana.kernel.errors import PreconditionRequired
from emhana.trust.chain import checkpoint
from emhana.web.deps import SessionDep, public, require
from emhana.web.idempotency import idempotent_json

router = APIRouter(tags=["attachment"])
PolicyMaker = Annotated[Actor, require(Can.SET_CAMPAIGN_POLICY)]
Administrator = Annotated[Actor, require(Can.ADMINISTER_ATTACHMENTS)]
Counter = Annotated[Actor, require(Can.COUNT_CAPITATION)]
IdempotencyKey = Annotated[str | None, Header()]


def _policy_response(status: int, payload: dict[str, Any]) -> JSONResponse:
    """Return a policy answer with its ETag."""
    return JSONResponse(
        payload,
        status_code=status,
        headers={"ETag": outputs.etag("policy", int(payload["year"]), int(payload["version"]))},
    )


@router.get("/policies", response_model=list[PolicyOut], dependencies=[public()])
def list_policies(session: SessionDep) -> list[PolicyOut]:
    """List the campaign policies, oldest first (A-30..A-34)."""
    return [outputs.policy_out(p) for p in policy.list_policies(session)]


@router.get("/policies/{year}", response_model=PolicyOut, dependencies=[public()])
def read_policy(year: int, session: SessionDep) -> JSONResponse:
    """Return the campaign policy of a year with its ETag."""
    return _policy_response(200, outputs.policy_out(policy.get_policy(session, year)).model_dump(mode="json"))


@router.post("/policies", response_model=PolicyOut, status_code=201)
def create_policy(
    body: PolicyIn, session: SessionDep, actor: PolicyMaker, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Create the campaign of a coming year (the Fund); past and running campaigns cannot be created."""

    def run() -> tuple[int, dict[str, Any]]:
        row = policy.create_policy(session=session, actor=actor, data=body, today=clock.today())
        return 201, outputs.policy_out(row).model_dump(mode="json")

    status, payload = run_once(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )
    return _policy_response(status, payload)


@router.put("/policies/{year}", response_model=PolicyOut)
def update_policy(
    year: int, body: PolicyIn, session: SessionDep, actor: PolicyMaker, if_match: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """Change a campaign whose window has not opened; needs If-Match (412 if stale, 428 if absent)."""
    if if_match is None:
        raise PreconditionRequired()
    version = outputs.version_from(if_match, "policy", year)
    row = policy.update_policy(
        session=session, actor=actor, year=year, data=body, expected_version=version, today=clock.today()
    )
    return _policy_response(200, outputs.policy_out(row).model_dump(mode="json"))


@router.post("/persons/{person_id}/detach", status_code=200)
def detach(
    person_id: int, body: DetachIn, session: SessionDep, actor: Administrator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """End a person's attachment for death (A-92), emigration (A-93) or the end of insurance (A-91)."""

    def run() -> tuple[int, dict[str, Any]]:
        rows = placement.detach(
            session=session,
            actor=actor,
            person_id=person_id,
            reason=EndReason(body.reason),
            on=body.on,
            today=clock.today(),
        )
        return 200, {"ended": [outputs.attachment_out(r).model_dump(mode="json") for r in rows]}

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        run=run,
        payload={"person": person_id, **body.model_dump(mode="json")},
    )


@router.post("/entities/{entity_id}/redistribute", response_model=RedistributeOut)
def redistribute(
    entity_id: int,
    body: RedistributeIn,
    session: SessionDep,
    actor: Administrator,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Move the people of an entity excluded from the database (or without contract) to the nearest
    participating sites with free places (A-94); call it after the exclusion is recorded."""

    def run() -> tuple[int, dict[str, Any]]:
        day = clock.today()
        moved, unplaced = placement.redistribute(
            session=session,
            actor=actor,
            entity_id=entity_id,
            on=body.on,
            today=day,
            policy=policy.policy_for(session, day),
        )
        return 200, RedistributeOut(moved=moved, unplaced_person_ids=unplaced).model_dump(mode="json")

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        run=run,
        payload={"entity": entity_id, **body.model_dump(mode="json")},
    )


@router.post("/jobs/daily", response_model=DailyOut)
def daily(
    body: DailyIn, request: Request, session: SessionDep, actor: Administrator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Run the daily job: approved attachments come into effect, the dead and the uninsured are detached; once
    its work is committed, the hash chains' heads are checkpointed with the deployment's key (if one is set)."""

    def run() -> tuple[int, dict[str, Any]]:
        in_effect, dead, uninsured = placement.run_daily(session=session, actor=actor, day=min(body.day, clock.today()))
        return 200, DailyOut(in_effect=in_effect, detached_dead=dead, detached_uninsured=uninsured).model_dump(
            mode="json"
        )

    response = idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )
    state = request.app.state
    response.background = BackgroundTask(checkpoint.scheduled, state.engine, state.settings.checkpoint_key)
    return response


def snapshot_out(session: SessionDep, snap: CapitationSnapshot) -> SnapshotOut:
    """Return a snapshot with its counts."""
    return SnapshotOut(
        id=snap.id,
        as_of=snap.as_of,
        bands=snap.bands,
        total=snap.total,
        taken_at=snap.taken_at,
        counts=[
            CountOut(entity_id=c.entity_id, sex=c.sex, band=c.band, count=c.count)
            for c in capitation.counts_of(session=session, snapshot=snap)
        ],
    )


@router.post("/capitation/snapshots", response_model=SnapshotOut, status_code=201)
def take_snapshot(
    body: SnapshotIn, session: SessionDep, actor: Counter, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Take the capitation snapshot of a day (A-120, A-121); a day already taken is returned as it was."""

    def run() -> tuple[int, dict[str, Any]]:
        snap = capitation.take_snapshot(
            session=session,
            actor=actor,
            as_of=body.as_of,
            today=clock.today(),
            bands=body.bands or DEFAULT_BANDS,
            now=clock.now(),
        )
        return 201, snapshot_out(session, snap).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.get("/capitation/snapshots", response_model=list[SnapshotOut], dependencies=[require(Can.COUNT_CAPITATION)])
def list_snapshots(session: SessionDep) -> list[SnapshotOut]:
    """List the capitation snapshots, latest first."""
    return [snapshot_out(session, s) for s in capitation.list_snapshots(session=session)]


@router.get(
    "/capitation/snapshots/{snapshot_id}/export",
    responses={200: {"content": {"text/csv": {}}}},
    dependencies=[require(Can.COUNT_CAPITATION)],
)
def export_snapshot(snapshot_id: int, session: SessionDep) -> Response:
    """Export a snapshot's counts as CSV."""
    snap = capitation.get_snapshot(session=session, snapshot_id=snapshot_id)
    return Response(
        capitation.export_csv(session=session, snapshot=snap),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="capitation-{snap.as_of}.csv"'},
    )


@router.get("/capitation/snapshots/{snapshot_id}/persons", dependencies=[require(Can.COUNT_CAPITATION)])
def snapshot_persons(
    snapshot_id: int, session: SessionDep, entity_id: Annotated[int | None, Query()] = None
) -> list[dict[str, Any]]:
    """List the persons counted in a snapshot, optionally for one entity (traceability, A-121)."""
    snap = capitation.get_snapshot(session=session, snapshot_id=snapshot_id)
    return [
        {
            "person_id": p.person_id,
            "attachment_id": p.attachment_id,
            "entity_id": p.entity_id,
            "sex": p.sex,
            "band": p.band,
        }
        for p in capitation.persons_of(session=session, snapshot=snap, entity_id=entity_id)
    ]
