"""The code map as data: list it, and let the Fund add or change a mapping (audited) to an item of the catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.fhir.mapping import default_rows
from emhana.fhir.models import CodeMap
from emhana.identity.schemas import Strict
from emhana.medbook.journal import check_catalogue_item
from emhana.medbook.schemas import CODE, ClinicalKind

ResourceType = Literal["Observation", "DiagnosticReport", "Immunization", "Condition"]


class CodeMapIn(Strict):
    system: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=64)
    resource_type: ResourceType
    kind: ClinicalKind
    item_code: str = Field(pattern=CODE)
    note: str = Field(default="", max_length=2000)
    active: bool = True


class CodeMapOut(BaseModel):
    id: int
    system: str
    code: str
    resource_type: str
    kind: str
    item_code: str
    note: str
    active: bool


def _out(row: CodeMap) -> CodeMapOut:
    return CodeMapOut(
        id=row.id,
        system=row.system,
        code=row.code,
        resource_type=row.resource_type,
        kind=row.kind,
        item_code=row.item_code,
        note=row.note,
        active=row.active,
    )


def list_codes(*, session: Session, system: str | None = None) -> list[CodeMapOut]:
    """Return the mappings, by system and code."""
    query = select(CodeMap).order_by(CodeMap.system, CodeMap.code, CodeMap.resource_type)
    if system:
        query = query.where(CodeMap.system == system)
    return [_out(r) for r in session.scalars(query)]


def put_code(*, session: Session, actor: Actor, data: CodeMapIn, now: dt.datetime) -> CodeMapOut:
    """Add a mapping or change the one with the same (system, code, resource type); an active mapping must name an
    item of the catalogue that may be recorded under its kind (``ItemNotInCatalogue``, issue 17), so no push writes
    an unknown item into a book (an inactive one may keep it: that is how a wrong mapping is switched off)."""
    if data.active:
        check_catalogue_item(data.kind.value, data.item_code)
    row = session.scalar(
        select(CodeMap).where(
            CodeMap.system == data.system, CodeMap.code == data.code, CodeMap.resource_type == data.resource_type
        )
    )
    if row is None:
        row = CodeMap(system=data.system, code=data.code, resource_type=data.resource_type)
        session.add(row)
    row.kind, row.item_code, row.note, row.active = data.kind.value, data.item_code, data.note, data.active
    row.updated_at, row.updated_by = now, actor.account_id
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="fhir.code_map",
        object_type="fhir_code_map",
        object_id=str(row.id),
        now=now,
        purpose=f"{data.system}|{data.code} -> {data.kind.value}/{data.item_code}"[:200],
    )
    return _out(row)


def seed_code_map(session: Session) -> None:
    """Insert the packaged mappings that are not in the table yet (tests and fresh databases)."""
    known = {(r.system, r.code, r.resource_type) for r in session.scalars(select(CodeMap))}
    for row in default_rows():
        if (row["system"], row["code"], row["resource_type"]) not in known:
            session.add(CodeMap(**row, active=True))
    session.flush()
