"""Registry rows as FHIR R4 JSON: Patient, Organization, Location, Practitioner, PractitionerRole."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import Connection, Date, Integer, String, Table, bindparam, func, or_, select
from sqlalchemy.orm import Session

from emhana.attachment.models import Attachment
from emhana.audit.models import ChainLink
from emhana.facilities.models import Entity, Post, Practitioner, Site
from emhana.fhir import systems
from emhana.identity.models import Person, PersonAddress
from emhana.kernel.fastsql import Fast, pipeline


def _name(surname: str, given: str, patronymic: str | None) -> dict[str, Any]:
    return {
        "use": "official",
        "family": surname,
        "given": [p for p in (given, patronymic) if p],
        "text": " ".join(p for p in (surname, given, patronymic) if p),
    }


def reference(rtype: str, rid: int, display: str | None = None) -> dict[str, Any]:
    """Return a literal reference, with a display when given."""
    out: dict[str, Any] = {"reference": f"{rtype}/{rid}"}
    if display:
        out["display"] = display
    return out


class AddressLike(Protocol):
    """An address as a Patient shows it (a ``PersonAddress`` or a row of one)."""

    @property
    def kind(self) -> str: ...

    @property
    def text_kk(self) -> str | None: ...

    @property
    def text_ru(self) -> str | None: ...

    @property
    def kato_code(self) -> str: ...

    @property
    def valid_to(self) -> dt.date | None: ...


def patient(person: Person, attached: Entity | None, today: dt.date) -> dict[str, Any]:
    """Return a Patient: IIN identifier, name, sex, birth and death, address, attached organization."""
    return patient_of(
        PatientRow(
            person.id,
            person.iin,
            person.surname,
            person.given_name,
            person.patronymic,
            person.sex,
            person.birth_date,
            person.death_date,
            person.created_at,
            None,
            attached.id if attached is not None else None,
            attached.name_ru if attached is not None else None,
            None,
        ),
        person.addresses,
        today,
    )


def patient_of(person: PatientRow, addresses: Iterable[AddressLike], today: dt.date) -> dict[str, Any]:
    """``patient`` from a row of the person (``PatientRow``: its organization is ``gp_id``, ``gp_name``) and the
    person's addresses in id order."""
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(person.id),
        "identifier": [{"use": "official", "system": systems.IIN, "value": person.iin}],
        "active": person.death_date is None,
        "name": [_name(person.surname, person.given_name, person.patronymic)],
        "gender": person.sex,
        "birthDate": person.birth_date.isoformat(),
    }
    if person.death_date is not None:
        out["deceasedDateTime"] = person.death_date.isoformat()
    shown = [a for a in addresses if a.valid_to is None or a.valid_to >= today]
    if shown:
        out["address"] = [
            {
                "use": "home" if a.kind == "permanent" else "temp",
                "text": a.text_ru or a.text_kk or "",
                "district": a.kato_code,
            }
            for a in shown
        ]
    if person.gp_id is not None:
        out["generalPractitioner"] = [reference("Organization", person.gp_id, person.gp_name)]
    return out


# --- a Patient's read in one round trip (issue 18) ------------------------------------------------------------------


class PatientRow(NamedTuple):
    """A person as a Patient's read needs it: the columns shown, when registered, the organization of the open
    attachment (``attachment.population.attached_entity``: the population check), the attached organization on the
    day (``generalPractitioner``, as ``fhir.registry``) and the last change recorded in the person's identity and
    attachment chains (``registry.patient_meta``)."""

    id: int
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    sex: str
    birth_date: dt.date
    death_date: dt.date | None
    created_at: dt.datetime | None
    open_entity_id: int | None
    gp_id: int | None
    gp_name: str | None
    linked_at: dt.datetime | None


class AddressRow(NamedTuple):
    kind: str
    text_kk: str | None
    text_ru: str | None
    kato_code: str
    valid_to: dt.date | None


_PERSON = cast(Table, Person.__table__)
_ADDRESS = cast(Table, PersonAddress.__table__)
_ATTACHMENT = cast(Table, Attachment.__table__)
_ENTITY = cast(Table, Entity.__table__)
_LINK = cast(Table, ChainLink.__table__)


def _patient_statement() -> Fast:
    person, day = bindparam("person", type_=Integer), bindparam("day", type_=Date)
    open_att, gp_att, gp = _ATTACHMENT.alias("open_att"), _ATTACHMENT.alias("gp_att"), _ENTITY.alias("gp")
    open_entity = (  # attachment.population.attached_entity
        select(open_att.c.entity_id)
        .where(open_att.c.person_id == person, open_att.c.end_date.is_(None))
        .limit(1)
        .scalar_subquery()
    )
    gp_id = (  # fhir.registry._attached
        select(gp_att.c.entity_id)
        .where(
            gp_att.c.person_id == person,
            gp_att.c.begin_date <= day,
            or_(gp_att.c.end_date.is_(None), gp_att.c.end_date > day),
        )
        .order_by(gp_att.c.begin_date.desc())
        .limit(1)
        .scalar_subquery()
    )
    linked = (  # fhir.registry.patient_meta
        select(func.max(_LINK.c.linked_at))
        .where(
            or_(_LINK.c.kind == "person", _LINK.c.kind == "attachment"),  # no expanding IN: sent as compiled
            _LINK.c.chain_key == bindparam("key", type_=String),
        )
        .scalar_subquery()
    )
    columns = [_PERSON.c[name] for name in PatientRow._fields[:9]]
    return Fast(
        select(*columns, open_entity, gp.c.id, gp.c.name_ru, linked)
        .select_from(_PERSON.outerjoin(gp, gp.c.id == gp_id))
        .where(_PERSON.c.id == person)
    )


PATIENT = _patient_statement()
ADDRESSES = Fast(
    select(*(_ADDRESS.c[name] for name in AddressRow._fields))
    .where(_ADDRESS.c.person_id == bindparam("person", type_=Integer))
    .order_by(_ADDRESS.c.id)
)


def patient_rows(session: Session, person_id: int, day: dt.date) -> tuple[PatientRow, list[AddressRow]] | None:
    """Read what a Patient shows of a person, with its ``meta``'s inputs and the person's organization, in one round
    trip on PostgreSQL (``fastsql.pipeline``); None when there is no such person."""
    conn = session.connection()
    with pipeline(conn):
        found = patient_later(conn, person_id, day)
    return found()


def patient_later(
    conn: Connection, person_id: int, day: dt.date
) -> Callable[[], tuple[PatientRow, list[AddressRow]] | None]:
    """``patient_rows``'s statements, sent in the connection's open ``fastsql.pipeline`` (with the caller's own): call
    what it returns once the pipeline has ended for the rows (None when there is no such person)."""
    found = PATIENT.later(conn, {"person": person_id, "day": day, "key": str(person_id)})
    addresses = ADDRESSES.later(conn, {"person": person_id})

    def rows() -> tuple[PatientRow, list[AddressRow]] | None:
        if not found.rows:
            return None
        return PatientRow(*found.rows[0]), [AddressRow(*r) for r in addresses.rows]

    return rows


def organization(entity: Entity, active: bool) -> dict[str, Any]:
    """Return an Organization: BIN identifier, names in Russian and Kazakh, participation on the day."""
    return {
        "resourceType": "Organization",
        "id": str(entity.id),
        "identifier": [{"use": "official", "system": systems.BIN, "value": entity.bin}],
        "active": active,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": entity.name_ru,
        "alias": [entity.name_kk],
    }


def location(site: Site, entity: Entity) -> dict[str, Any]:
    """Return a Location with its position, address (KATO) and managing organization."""
    return {
        "resourceType": "Location",
        "id": str(site.id),
        "identifier": [{"system": systems.SITE, "value": f"{entity.bin}/{site.code}"}],
        "status": "active" if site.active else "inactive",
        "name": site.name_ru,
        "alias": [site.name_kk],
        "mode": "instance",
        "type": [{"coding": [{"system": systems.BASE + "/CodeSystem/site-kind", "code": site.kind}]}],
        "address": {"text": site.address_ru, "district": site.kato_code},
        "position": {"latitude": site.lat, "longitude": site.lon},
        "managingOrganization": reference("Organization", entity.id, entity.name_ru),
    }


LOCATION_DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"


def distance(distance_km: float) -> dict[str, Any]:
    """Return the distance of a match from the point of a ``near`` search, for its ``entry.search.extension``."""
    return {
        "url": LOCATION_DISTANCE,
        "valueDistance": {
            "value": round(distance_km, 3),
            "unit": "km",
            "system": "http://unitsofmeasure.org",
            "code": "km",
        },
    }


def practitioner(p: Practitioner) -> dict[str, Any]:
    """Return a Practitioner with the IIN identifier and the specialties as qualifications."""
    out: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(p.id),
        "identifier": [{"use": "official", "system": systems.IIN, "value": p.iin}],
        "active": True,
        "name": [_name(p.surname, p.given_name, p.patronymic)],
    }
    specialties = [s for s in p.specialties.split(",") if s]
    if specialties:
        out["qualification"] = [{"code": {"coding": [{"system": systems.SPECIALTY, "code": s}]}} for s in specialties]
    return out


def practitioner_role(post: Post, today: dt.date) -> dict[str, Any]:
    """Return a PractitionerRole: a post of a practitioner at an organization (and site) over a period."""
    period: dict[str, str] = {"start": post.valid_from.isoformat()}
    if post.valid_to is not None:
        period["end"] = post.valid_to.isoformat()
    out: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(post.id),
        "active": post.valid_from <= today and (post.valid_to is None or post.valid_to > today),
        "period": period,
        "practitioner": reference("Practitioner", post.practitioner_id),
        "organization": reference("Organization", post.entity_id),
        "code": [{"text": post.title}],
    }
    if post.site_id is not None:
        out["location"] = [reference("Location", post.site_id)]
    return out
