"""Routes of the published lists of participating healthcare entities (B-02): anyone reads a campaign year's list
(its latest version, or an earlier one by number) and the versions published; the Fund publishes a new version.
Errors are problem+json with stable codes (``facilities.list_not_published``, ``attachment.campaign_not_found``,
``core.invalid_dates``) and messages in the request's language."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment import participants
from emhana.facilities import publication
from emhana.kernel import clock
from emhana.web.deps import SessionDep, public, require
from emhana.web.idempotency import IdempotencyKey, idempotent_json

router = APIRouter(prefix="/facilities/participant-lists", tags=["facilities"])


class PublishIn(BaseModel):
    """A new version of a campaign year's list; the publication date is today unless given."""

    year: int = Field(ge=2000, le=2100)
    published_on: dt.date | None = None


class VersionOut(BaseModel):
    """A published version: its year and number, publication date, the day it reflects, size and digest."""

    year: int
    version: int
    published_on: dt.date
    as_of: dt.date
    count: int
    digest: str


class ParticipantOut(BaseModel):
    """An entity as published in the list (organizations only, no personal data)."""

    entity_id: int
    bin: str
    name_kk: str
    name_ru: str
    region_kato: str | None


class ListOut(VersionOut):
    """A version with its entities in published order."""

    entities: list[ParticipantOut]


def version_out(lst: publication.ParticipantList) -> VersionOut:
    return VersionOut(
        year=lst.year,
        version=lst.version,
        published_on=lst.published_on,
        as_of=lst.as_of,
        count=lst.count,
        digest=lst.digest,
    )


def list_out(lst: publication.ParticipantList) -> ListOut:
    return ListOut(
        **version_out(lst).model_dump(),
        entities=[
            ParticipantOut(
                entity_id=r.entity_id, bin=r.bin, name_kk=r.name_kk, name_ru=r.name_ru, region_kato=r.region_kato
            )
            for r in publication.rows_of(lst)
        ],
    )


@router.get("", response_model=list[VersionOut], dependencies=[public()])
def list_versions(session: SessionDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> list[VersionOut]:
    """List the published versions, latest year and version first (of one year with ``year``)."""
    return [version_out(v) for v in publication.versions(session=session, year=year)]


@router.get("/{year}", response_model=ListOut, dependencies=[public()])
def read_list(
    year: int, session: SessionDep, version: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> ListOut:
    """Return a campaign year's published list: its latest version, or the version asked for (B-02)."""
    return list_out(publication.get_list(session=session, year=year, version=version))


@router.post("", response_model=ListOut, status_code=201)
def publish(
    body: PublishIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.KEEP_FACILITY_REGISTER)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Publish a new version of a campaign year's list of participating entities (the Fund, B-02)."""

    def run() -> tuple[int, dict[str, Any]]:
        lst = participants.publish(
            session=session,
            actor=actor,
            year=body.year,
            published_on=body.published_on or clock.today(),
            today=clock.today(),
            now=clock.now(),
        )
        return 201, list_out(lst).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )
