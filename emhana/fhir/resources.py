"""Registry rows as FHIR R4 JSON: Patient, Organization, Location, Practitioner, PractitionerRole."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emhana.facilities.models import Entity, Post, Practitioner, Site
from emhana.fhir import systems
from emhana.identity.models import Person


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


def patient(person: Person, attached: Entity | None, today: dt.date) -> dict[str, Any]:
    """Return a Patient: IIN identifier, name, sex, birth and death, address, attached organization."""
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
    addresses = [a for a in person.addresses if a.valid_to is None or a.valid_to >= today]
    if addresses:
        out["address"] = [
            {
                "use": "home" if a.kind == "permanent" else "temp",
                "text": a.text_ru or a.text_kk or "",
                "district": a.kato_code,
            }
            for a in addresses
        ]
    if attached is not None:
        out["generalPractitioner"] = [reference("Organization", attached.id, attached.name_ru)]
    return out


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
