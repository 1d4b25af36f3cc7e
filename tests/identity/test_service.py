"""Identity use cases: legal representation on a basis document, by the person's organization or the Fund,
ended at 18 (A-24, A-65) and told to both people; reads outside the organization's population need a purpose;
unusual read volume is flagged once a day (issue 14)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent
from emhana.identity import access, oversight, service
from emhana.identity.models import LegalRepresentation
from emhana.identity.rules import REASON_DOCUMENT_MISMATCH, REASON_PURPOSE_TEXT, BasisDocument, RepresentationBasis
from emhana.identity.schemas import RepresentationIn
from emhana.kernel import clock
from emhana.kernel.errors import BasisNotFitting, NotPersonsOrganization, PurposeRequired
from emhana.notify.models import Notification
from emhana.notify.templates import render
from tests.builders.attachment import Country
from tests.builders.people import represent

TODAY = dt.date(2025, 9, 10)  # the country fixture's clock
MakeActor = Callable[..., tuple[Actor, str]]


def attach(sessions: sessionmaker[Session], country: Country, person_id: int, entity_id: int) -> None:
    """Attach a person to an entity's first district (an open attachment, A-01)."""
    site = "A1" if entity_id == country.a else "B1"
    with sessions.begin() as s:
        s.add(
            Attachment(
                person_id=person_id,
                entity_id=entity_id,
                site_id=country.sites[site],
                district_id=country.districts[(site, 1)],
                place_basis="residence_permanent",
                cause="free_choice",
                begin_date=dt.date(2025, 1, 1),
                decided_on=dt.date(2024, 10, 1),
            )
        )


def body(representative: int, represented: int, **kw: object) -> RepresentationIn:
    values: dict[str, object] = {
        "representative_id": representative,
        "represented_id": represented,
        "basis": "parent",
        "document_kind": "birth_certificate",
        "document_number": "I-АЛ 1234567",
        "valid_from": "2015-05-01",
    }
    values.update(kw)
    return RepresentationIn.model_validate(values)


@pytest.fixture
def family(country: Country, person: Callable[..., int], sessions: sessionmaker[Session]) -> dict[str, int]:
    """A parent, their child of 10 attached to A, and two adults attached to A."""
    ids = {
        "parent": person(born=dt.date(1988, 3, 15)),
        "child": person(born=dt.date(2015, 5, 1)),
        "adult": person(born=dt.date(1990, 1, 1)),
        "other_adult": person(born=dt.date(1991, 2, 2), sex="female"),
    }
    for name in ("child", "adult", "other_adult"):
        attach(sessions, country, ids[name], country.a)
    return ids


def test_a_registrar_of_the_childs_organization_records_a_parent_until_the_child_is_18(
    sessions: sessionmaker[Session], country: Country, family: dict[str, int], make_actor: MakeActor
) -> None:
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    with sessions.begin() as s:
        row = service.add_representation(
            session=s, actor=registrar, data=body(family["parent"], family["child"], valid_to="2040-01-01")
        )
        row_id = row.id
    with sessions() as s:
        rep = s.get(LegalRepresentation, row_id)
        assert rep is not None
        assert (rep.document_kind, rep.document_number, rep.valid_to) == (
            "birth_certificate",
            "I-АЛ 1234567",
            dt.date(2033, 4, 30),  # the eve of the 18th birthday, not the 2040 asked for
        )
        messages = {(n.recipient_id, n.template) for n in s.scalars(select(Notification))}
        assert messages == {
            (family["child"], "identity.representation_for_you"),
            (family["parent"], "identity.representation_by_you"),
        }
        subjects = {
            e.subject_person_id
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "representation.create"))
        }
        assert subjects == {family["child"], family["parent"]}
        note = s.scalars(select(Notification).where(Notification.recipient_id == family["child"])).one()
    for lang in ("kk", "ru", "en"):
        subject, text = render(note.template, lang, json.loads(note.params))
        assert "I-АЛ 1234567" in text and "30.04.2033" in text and "Тестов Тест" in text and subject


def test_a_registrar_of_another_organization_is_refused_whether_or_not_the_person_exists(
    sessions: sessionmaker[Session], country: Country, family: dict[str, int], make_actor: MakeActor
) -> None:
    registrar_b, _ = make_actor(Role.REGISTRAR, entity_id=country.b)
    for represented in (family["child"], 987_654_321):
        with sessions.begin() as s, pytest.raises(NotPersonsOrganization):
            service.add_representation(session=s, actor=registrar_b, data=body(family["parent"], represented))
    with sessions() as s:
        assert s.scalars(select(LegalRepresentation)).all() == []
        assert s.scalars(select(Notification)).all() == []


def test_one_adult_is_not_made_the_guardian_of_another_without_a_guardianship_decision(
    sessions: sessionmaker[Session], country: Country, family: dict[str, int], make_actor: MakeActor
) -> None:
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    fund, _ = make_actor(Role.FUND_ADMIN)
    bad = body(family["adult"], family["other_adult"], basis="guardian", valid_from="2025-09-01")
    with sessions.begin() as s, pytest.raises(BasisNotFitting) as refused:
        service.add_representation(session=s, actor=registrar, data=bad)
    assert refused.value.params == {"reason": REASON_DOCUMENT_MISMATCH}
    good = body(
        family["adult"],
        family["other_adult"],
        basis=RepresentationBasis.GUARDIAN,
        document_kind=BasisDocument.GUARDIANSHIP_DECISION,
        document_number="2-1234/2025",
        valid_from="2025-09-01",
    )
    with sessions.begin() as s:  # the Fund may record for anyone; an adult's guardianship has no set end
        assert service.add_representation(session=s, actor=fund, data=good).valid_to is None


def test_a_representation_of_a_minor_ends_at_18_even_when_its_row_says_otherwise(
    sessions: sessionmaker[Session], family: dict[str, int]
) -> None:
    represent(sessions, family["parent"], family["child"])  # an old row: birth certificate, no end
    with sessions() as s:
        for day, expected in ((dt.date(2033, 4, 30), {family["child"]}), (dt.date(2033, 5, 1), set())):
            assert service.represented_ids(session=s, representative_id=family["parent"], day=day) == expected


def test_staff_read_their_population_freely_and_others_for_a_stated_purpose(
    sessions: sessionmaker[Session], country: Country, family: dict[str, int], make_actor: MakeActor
) -> None:
    registrar_a, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    registrar_b, _ = make_actor(Role.REGISTRAR, entity_id=country.b)
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        service.get_person(session=s, actor=registrar_a, person_id=family["child"], purpose="api read")
        for actor in (registrar_b, fund):
            with pytest.raises(PurposeRequired):
                service.get_person(session=s, actor=actor, person_id=family["child"], purpose="api read")
        with pytest.raises(PurposeRequired) as refused:
            service.get_person(session=s, actor=registrar_b, person_id=family["child"], purpose="other")
        assert refused.value.params == {"reason": REASON_PURPOSE_TEXT}
        service.get_person(session=s, actor=registrar_b, person_id=family["child"], purpose="care: a home visit")
        service.get_person(session=s, actor=fund, person_id=family["child"], purpose="oversight")
    with sessions() as s:
        log = oversight.access_log(session=s, person_id=family["child"], account_id=0)
        assert [(a.role, a.purpose) for a in reversed(log)] == [
            ("registrar", "api read"),
            ("registrar", "care: a home visit"),
            ("fund_admin", "oversight"),
        ]


def test_the_population_readers_are_registered_by_attachment_and_medbook() -> None:
    assert access._attachment and set(access._relations) >= {"attachment.application", "medbook.book"}
    assert "attachment.notify_both" in access._on_representation


def test_unusual_read_volume_is_flagged_once_a_day(
    sessions: sessionmaker[Session],
    country: Country,
    family: dict[str, int],
    make_actor: MakeActor,
    now: Callable[[dt.datetime], None],
) -> None:
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)

    def read(times: int) -> None:
        with sessions.begin() as s:
            for _ in range(times):
                service.get_person(session=s, actor=registrar, person_id=family["adult"], purpose="care", flag_after=3)

    def flags() -> list[tuple[dt.date, int | None, int | None]]:
        with sessions() as s:
            return [(f.day, f.reads, f.limit) for f in oversight.flagged_accounts(session=s)]

    read(3)
    assert flags() == []
    read(3)
    assert flags() == [(TODAY, 4, 3)]
    now(dt.datetime(2025, 9, 11, 0, 5, tzinfo=clock.KZ_TIME))  # a new day in Kazakhstan
    read(4)
    assert flags() == [(dt.date(2025, 9, 11), 4, 3), (TODAY, 4, 3)]
