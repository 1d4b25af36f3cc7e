"""What the state databases hold of the generated people beyond their registration: identity documents (an ID card
or a passport from 16, a birth certificate for every citizen child, the papers of foreigners, kandas and refugees),
addresses other than the registration address (actual, temporary, work, study) and families: each child lives with
a parent who legally represents them on the child's birth certificate (A-24, A-65).

Written by bulk inserts after the persons (a demo of 10,000 people gets some 14,000 documents, 4,000 addresses and
2,000 representations in well under a second); the representations are linked into their hash chains afterwards
(``trust.chain.links.seal_unlinked``), as the persons are. Same seed, same rows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from emhana.attachment.enums import AtuLevel
from emhana.attachment.rules import atu_of
from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress
from emhana.identity.rules import (
    BasisDocument,
    RepresentationBasis,
    RepresentationCase,
    age_on,
    birthday,
    minority_ends,
    representation_problem,
)
from emhana.identity.schemas import AddressKind, Category, DocumentKind
from emhana.reference.loader import KATO_VERSION

ID_CARD_AGE = 16  # an ID card (or a passport) is issued from 16; a child's identity is the birth certificate
VALID_YEARS = 10  # ID cards and passports of Kazakhstan are valid ten years
PASSPORT_SHARE = 0.12  # adults who hold a passport as well as the ID card
EXPIRED_SHARE = 0.015  # adults whose only ID card has run out (refused on eGov: A-60)
ACTUAL_SHARE = 0.08  # adults who live elsewhere than their registration address
PARENT_ACTUAL_SHARE = 0.35  # ... among parents of a child under 5 (A-23 is the reason the address matters)
TEMPORARY_SHARE = 0.03
WORK_SHARE = 0.35  # among people of working age (22-62)
STUDY_SHARE = 0.40  # among people of 18-22 (A-21, A-24: students of 18+ attach by the place of study)
PARENT_AGES = (19, 46)  # a parent's age at the child's birth
MOST_CHILDREN = 4
REGISTRY_OFFICE = "РАГС"  # the civil registry office that issues birth certificates
POLICE = "МВД РК"
MIGRATION = "МВД РК, миграционная служба"

DOCUMENTS = cast(Table, IdentityDocument.__table__)
ADDRESSES = cast(Table, PersonAddress.__table__)
REPRESENTATIONS = cast(Table, LegalRepresentation.__table__)


@dataclass(frozen=True)
class Resident:
    """A generated person with the registration address they were generated with."""

    id: int
    born: dt.date
    sex: str
    category: str
    address_id: int
    kato: str
    lat: float
    lon: float
    text_kk: str
    text_ru: str


@dataclass
class PapersStats:
    documents: int = 0
    addresses: dict[str, int] = field(default_factory=dict)
    representations: int = 0
    parents: int = 0


def residents(conn: Connection) -> list[Resident]:
    """Read every living person with their registration address, in id order."""
    p, a = cast(Table, Person.__table__), ADDRESSES
    rows = conn.execute(
        select(p.c.id, p.c.birth_date, p.c.sex, p.c.category, a.c.id, a.c.kato_code, a.c.lat, a.c.lon)
        .add_columns(a.c.text_kk, a.c.text_ru)
        .join(a, (a.c.person_id == p.c.id) & (a.c.kind == AddressKind.PERMANENT.value))
        .where(p.c.death_date.is_(None), a.c.lat.is_not(None), a.c.lon.is_not(None))
        .order_by(p.c.id)
    )
    return [
        Resident(int(i), born, sex, cat, int(aid), kato, float(lat), float(lon), kk or "", ru or "")
        for i, born, sex, cat, aid, kato, lat, lon, kk, ru in rows
    ]


def _digits(r: random.Random, n: int) -> str:
    return "".join(str(int(r.random() * 10)) for _ in range(n))


def _issued(r: random.Random, born: dt.date, as_of: dt.date, expired: bool) -> tuple[dt.date, dt.date]:
    """Issue and expiry dates of an ID card or passport, valid on ``as_of`` unless ``expired``."""
    earliest = birthday(born, ID_CARD_AGE)
    if expired:
        issued = as_of - dt.timedelta(days=VALID_YEARS * 365 + 30 + int(r.random() * 300))
        issued = max(issued, earliest)
    else:
        span = max(0, (as_of - earliest).days)
        issued = as_of - dt.timedelta(days=1 + int(r.random() * min(span, VALID_YEARS * 365 - 60)))
    return issued, birthday(issued, VALID_YEARS) - dt.timedelta(days=1)


def documents_of(r: random.Random, p: Resident, as_of: dt.date) -> list[dict[str, Any]]:
    """The identity documents the state databases hold for one person (docs/domain.md §4, A-60)."""
    age = age_on(p.born, as_of)
    out: list[dict[str, Any]] = []

    def add(kind: DocumentKind, number: str, issuer: str, issued: dt.date | None, expires: dt.date | None) -> None:
        out.append(
            {"person_id": p.id, "kind": kind.value, "number": number, "issuer": issuer}
            | {"issued_on": issued, "expires_on": expires}
        )

    if p.category in (Category.CITIZEN.value, Category.KANDAS.value) and age < 18:
        issued = p.born + dt.timedelta(days=5 + int(r.random() * 25))
        add(DocumentKind.BIRTH_CERTIFICATE, _digits(r, 7), REGISTRY_OFFICE, min(issued, as_of), None)
    if p.category == Category.CITIZEN.value and age >= ID_CARD_AGE:
        expired = r.random() < EXPIRED_SHARE
        issued, expires = _issued(r, p.born, as_of, expired)
        add(DocumentKind.ID_CARD, "0" + _digits(r, 8), POLICE, issued, expires)
        if not expired and r.random() < PASSPORT_SHARE:
            issued, expires = _issued(r, p.born, as_of, False)
            add(DocumentKind.PASSPORT, "N" + _digits(r, 8), POLICE, issued, expires)
    elif p.category == Category.KANDAS.value and age >= ID_CARD_AGE:
        issued = as_of - dt.timedelta(days=1 + int(r.random() * 300))
        add(DocumentKind.KANDAS_CERTIFICATE, _digits(r, 9), MIGRATION, issued, birthday(issued, 1))
    elif p.category == Category.RESIDENT_FOREIGNER.value:
        issued, until = _issued(r, p.born, as_of, False) if age >= ID_CARD_AGE else (p.born, None)
        add(DocumentKind.RESIDENCE_PERMIT, "F" + _digits(r, 8), MIGRATION, issued, until)
    elif p.category == Category.REFUGEE.value:
        issued = as_of - dt.timedelta(days=1 + int(r.random() * 300))
        add(DocumentKind.REFUGEE_CERTIFICATE, _digits(r, 8), MIGRATION, issued, birthday(issued, 1))
    elif p.category in (Category.EAEU_MIGRANT.value, Category.TEMPORARY_FOREIGNER.value):
        issued, expires = _issued(r, p.born, as_of, False) if age >= ID_CARD_AGE else (p.born, birthday(p.born, 5))
        add(DocumentKind.FOREIGN_PASSPORT, _digits(r, 9), "foreign state", issued, expires)
    return out


class Places:
    """The registration addresses of each administrative-territorial unit: where somebody else lives, works or
    studies is another real address of the same unit (the people "moved across the city")."""

    def __init__(self, people: list[Resident], level: AtuLevel) -> None:
        self.level = level
        self.by_unit: dict[str, list[Resident]] = defaultdict(list)
        for p in people:
            self.by_unit[atu_of(p.kato, level)].append(p)

    def other(self, r: random.Random, p: Resident) -> Resident | None:
        pool = self.by_unit[atu_of(p.kato, self.level)]
        for _ in range(4):
            q = pool[int(r.random() * len(pool))]
            if q.address_id != p.address_id and (q.lat, q.lon) != (p.lat, p.lon):
                return q
        return None


def _address(person_id: int, kind: AddressKind, at: Resident, since: dt.date, until: dt.date | None) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "kind": kind.value,
        "text_kk": at.text_kk,
        "text_ru": at.text_ru,
        "kato_code": at.kato,
        "kato_version": KATO_VERSION,
        "lat": at.lat,
        "lon": at.lon,
        "valid_from": since,
        "valid_to": until,
    }


def families(r: random.Random, people: list[Resident], as_of: dt.date) -> dict[int, list[Resident]]:
    """Give each child under 18 a parent of the same settlement, old enough and with at most a few children:
    parent id -> children, youngest last. Children whose settlement has no fitting adult stay without one."""
    adults: dict[str, list[Resident]] = defaultdict(list)
    children: dict[str, list[Resident]] = defaultdict(list)
    for p in people:
        age = age_on(p.born, as_of)
        if age < 18:
            children[p.kato].append(p)
        elif p.category == Category.CITIZEN.value and age <= 60:
            adults[p.kato].append(p)
    out: dict[int, list[Resident]] = {}
    for kato in sorted(children):
        parents = adults.get(kato, [])
        r.shuffle(parents)
        for child in sorted(children[kato], key=lambda c: c.born):
            for parent in parents:
                kids = out.get(parent.id, [])
                gap = age_on(parent.born, child.born)
                if len(kids) < MOST_CHILDREN and PARENT_AGES[0] <= gap <= PARENT_AGES[1] and parent.born < child.born:
                    out.setdefault(parent.id, []).append(child)
                    break
    return out


def write_papers(conn: Connection, *, as_of: dt.date, seed: int, level: AtuLevel) -> PapersStats:
    """Write the documents, other addresses and families of every generated person (see the module docstring)."""
    r = random.Random(f"{seed}/papers")
    people = residents(conn)
    stats = PapersStats()
    documents = [d for p in people for d in documents_of(r, p, as_of)]
    by_id = {p.id: p for p in people}
    certificates = {
        d["person_id"]: d for d in documents if d["kind"] == DocumentKind.BIRTH_CERTIFICATE.value
    }  # the basis of a parent's representation
    places = Places(people, level)
    kin = families(r, people, as_of)
    addresses: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    representations: list[dict[str, Any]] = []
    actual_of: dict[int, Resident] = {}
    for parent_id, kids in kin.items():
        parent = by_id[parent_id]
        has_infant = any(age_on(c.born, as_of) < 5 for c in kids)
        if has_infant and r.random() < PARENT_ACTUAL_SHARE:
            place = places.other(r, parent)
            if place is not None:
                actual_of[parent_id] = place
        for child in kids:
            moves.append({"b_id": child.address_id, **_moved(parent)})  # the child is registered with the parent
            certificate = certificates.get(child.id)
            row = _representation(parent, child, certificate)
            if row is not None:
                representations.append(row)
            if parent_id in actual_of and age_on(child.born, as_of) < 5:
                since = max(child.born, as_of - dt.timedelta(days=200))
                addresses.append(_address(child.id, AddressKind.ACTUAL, actual_of[parent_id], since, None))
    for p in people:
        age = age_on(p.born, as_of)
        place = actual_of.get(p.id)
        if place is None and age >= 18 and r.random() < ACTUAL_SHARE:
            place = places.other(r, p)
        if place is not None:
            since = as_of - dt.timedelta(days=30 + int(r.random() * 700))
            addresses.append(_address(p.id, AddressKind.ACTUAL, place, since, None))
        if age >= 18 and r.random() < TEMPORARY_SHARE and (q := places.other(r, p)) is not None:
            since = as_of - dt.timedelta(days=30 + int(r.random() * 300))
            addresses.append(_address(p.id, AddressKind.TEMPORARY, q, since, birthday(since, 1 + int(r.random() * 3))))
        if 22 <= age <= 62 and r.random() < WORK_SHARE and (q := places.other(r, p)) is not None:
            addresses.append(
                _address(p.id, AddressKind.WORK, q, as_of - dt.timedelta(days=int(r.random() * 2000)), None)
            )
        if 18 <= age <= 22 and r.random() < STUDY_SHARE and (q := places.other(r, p)) is not None:
            since = dt.date(as_of.year - int(r.random() * 3) - (as_of.month < 9), 9, 1)
            addresses.append(_address(p.id, AddressKind.STUDY, q, since, None))
    if documents:
        conn.execute(insert(DOCUMENTS), documents)
    if moves:
        conn.execute(
            update(ADDRESSES).where(ADDRESSES.c.id == bindparam("b_id")).values(_moved_columns()),
            moves,
        )
    if addresses:
        conn.execute(insert(ADDRESSES), addresses)
    if representations:
        conn.execute(insert(REPRESENTATIONS), representations)
    stats.documents = len(documents)
    for a in addresses:
        stats.addresses[a["kind"]] = stats.addresses.get(a["kind"], 0) + 1
    stats.representations = len(representations)
    stats.parents = len(kin)
    return stats


def _representation(parent: Resident, child: Resident, certificate: dict[str, Any] | None) -> dict[str, Any] | None:
    """A parent's legal representation of a child on the child's birth certificate, checked by the rules that
    check the registrar's (A-24, A-65); None when the child has no certificate on file or the rules refuse."""
    if certificate is None:
        return None
    case = RepresentationCase(
        basis=RepresentationBasis.PARENT,
        document=BasisDocument.BIRTH_CERTIFICATE,
        represented_born=child.born,
        representative_born=parent.born,
        valid_from=child.born,
        valid_to=None,
    )
    if representation_problem(case) is not None:
        return None
    issued = certificate["issued_on"]
    return {
        "representative_id": parent.id,
        "represented_id": child.id,
        "basis": RepresentationBasis.PARENT.value,
        "document_kind": BasisDocument.BIRTH_CERTIFICATE.value,
        "document_number": certificate["number"],
        "basis_document": f"{REGISTRY_OFFICE}, {issued:%d.%m.%Y}",
        "valid_from": child.born,
        "valid_to": minority_ends(child.born),
    }


def _moved(parent: Resident) -> dict[str, Any]:
    return {"b_kk": parent.text_kk, "b_ru": parent.text_ru, "b_lat": parent.lat, "b_lon": parent.lon}


def _moved_columns() -> dict[str, Any]:
    return {
        "text_kk": bindparam("b_kk"),
        "text_ru": bindparam("b_ru"),
        "lat": bindparam("b_lat"),
        "lon": bindparam("b_lon"),
    }
