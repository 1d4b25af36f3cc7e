"""Persons with addresses and identity documents, and legal representation."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session, sessionmaker

from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress
from emhana.identity.rules import Sex, make_iin

_serial = itertools.count(100)


def add_person(
    sessions: sessionmaker[Session],
    *,
    born: dt.date = dt.date(1988, 3, 15),
    sex: str = "male",
    category: str = "citizen",
    kato: str = "710000000",
    death: dt.date | None = None,
    documents: list[tuple[str, dt.date | None]] | None = None,
    addresses: list[tuple[str, str]] | None = None,
) -> int:
    """Register a person with addresses (kind, KATO) and identity documents (kind, expires_on)."""
    iin = None
    while iin is None:
        iin = make_iin(born, Sex(sex), next(_serial))
    with sessions.begin() as s:
        p = Person(
            iin=iin, surname="Тестов", given_name="Тест", birth_date=born, sex=sex, category=category, death_date=death
        )
        p.addresses = [
            PersonAddress(kind=k, kato_code=code, kato_version="NK RK 11-2025", lat=51.13, lon=71.43)
            for k, code in (addresses if addresses is not None else [("permanent", kato)])
        ]
        p.documents = [
            IdentityDocument(kind=k, number=f"N{next(_serial)}", expires_on=e)
            for k, e in (documents if documents is not None else [("id_card", None)])
        ]
        s.add(p)
        s.flush()
        return p.id


def represent(
    sessions: sessionmaker[Session], representative: int, child: int, valid_to: dt.date | None = None
) -> None:
    """Record a parent's legal representation of a child."""
    with sessions.begin() as s:
        s.add(
            LegalRepresentation(
                representative_id=representative,
                represented_id=child,
                basis="parent",
                document_kind="birth_certificate",
                document_number="I-АЛ 0000001",
                basis_document="birth certificate",
                valid_from=dt.date(2000, 1, 1),
                valid_to=valid_to,
            )
        )
