"""An organization's administrator keeps its own sites, districts, capacity and posts (facilities/admin.py): every
change audited with what it changed, validation errors coded, another organization's records answered as missing,
and nothing written by a refusal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.facilities import admin
from emhana.facilities.models import District, Post, Site
from emhana.facilities.service import add_practitioner, apply_records, get_entity_by_bin
from emhana.kernel.errors import (
    CapacityInvalid,
    DistrictNumberTaken,
    DoctorNotAtEntity,
    InvalidDates,
    NameRequired,
    NotFound,
    OutsideKazakhstan,
    RegistryError,
)
from tests.builders.facilities import entity_record

MakeActor = Callable[..., tuple[Actor, str]]
DAY = dt.date(2026, 3, 10)


@pytest.fixture
def two(sessions: sessionmaker[Session], make_actor: MakeActor) -> tuple[Actor, Actor, int, int]:
    """Two organizations with a site each; the administrator of the first, of the second, and the two site ids."""
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        apply_records(session=s, actor=fund, records=[entity_record(), entity_record("201140004575")])
        a = get_entity_by_bin(session=s, bin_="150340001236")
        b = get_entity_by_bin(session=s, bin_="201140004575")
        ids = (a.id, b.id, a.sites[0].id, b.sites[0].id)
    admin_a, _ = make_actor(Role.ENTITY_ADMIN, entity_id=ids[0])
    admin_b, _ = make_actor(Role.ENTITY_ADMIN, entity_id=ids[1])
    return admin_a, admin_b, ids[2], ids[3]


def _events(s: Session, action: str) -> list[AuditEvent]:
    return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_the_administrator_changes_a_site_and_the_audit_log_names_what_changed(
    sessions: sessionmaker[Session], two: tuple[Actor, Actor, int, int]
) -> None:
    me, _, site_id, _ = two
    change = admin.SiteChange("Жаңа атау", "Новое название", "Астана қ., 1", "г.Астана, 1", 51.2, 71.5)
    with sessions.begin() as s:
        admin.update_site(session=s, actor=me, site_id=site_id, change=change)
        admin.update_site(session=s, actor=me, site_id=site_id, change=change)  # nothing changes: nothing logged
    with sessions() as s:
        site = s.get(Site, site_id)
        assert site is not None and (site.name_ru, site.lat, site.lon) == ("Новое название", 51.2, 71.5)
        [event] = _events(s, "site.update")
        assert event.account_id == me.account_id and event.object_id == str(site_id)
        assert event.purpose == "changed: name_kk, name_ru, address_kk, address_ru, lat, lon"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (admin.SiteChange(" ", "Название", "", "", 51.2, 71.5), NameRequired),
        (admin.SiteChange("Атау", "Название", "", "", 10.0, 10.0), OutsideKazakhstan),
    ],
)
def test_a_site_without_both_names_or_outside_kazakhstan_is_refused(
    sessions: sessionmaker[Session],
    two: tuple[Actor, Actor, int, int],
    change: admin.SiteChange,
    error: type[RegistryError],
) -> None:
    me, _, site_id, _ = two
    with sessions() as s, pytest.raises(error) as caught:
        admin.update_site(session=s, actor=me, site_id=site_id, change=change)
    assert caught.value.code in ("facilities.name_required", "geo.outside_kazakhstan")


def test_districts_are_added_and_changed_with_a_doctor_of_the_organization(
    sessions: sessionmaker[Session], two: tuple[Actor, Actor, int, int]
) -> None:
    me, _, site_id, _ = two
    with sessions.begin() as s:
        doctor = add_practitioner(
            session=s,
            actor=me,
            iin="880315400123",
            surname="Ахметова",
            given_name="Айгерим",
            patronymic=None,
            specialties=["gp"],
            entity_id=me.entity_id or 0,
            site_id=site_id,
            title="Врач общей практики",
            rate=1.0,
            valid_from=dt.date(2024, 1, 1),
        )
        new = admin.write_district(
            session=s, actor=me, site_id=site_id, day=DAY, change=admin.DistrictChange(7, "therapist", 2200, doctor.id)
        )
        admin.write_district(
            session=s,
            actor=me,
            site_id=site_id,
            day=DAY,
            district_id=new.id,
            change=admin.DistrictChange(7, "therapist", 2000, doctor.id),
        )
        new_id = new.id
    with sessions() as s:
        row = s.get(District, new_id)
        assert row is not None and (row.number, row.profile, row.capacity, row.doctor_id) == (
            7,
            "therapist",
            2000,
            doctor.id,
        )
        assert [e.purpose for e in _events(s, "district.update")] == ["capacity: 2200 -> 2000"]
        assert len(_events(s, "district.create")) == 1


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        (admin.DistrictChange(1, "gp", 100, None), DistrictNumberTaken, "facilities.district_number_taken"),
        (admin.DistrictChange(9, "gp", 0, None), CapacityInvalid, "facilities.capacity_invalid"),
        (admin.DistrictChange(9, "gp", 10_001, None), CapacityInvalid, "facilities.capacity_invalid"),
        (admin.DistrictChange(9, "dentist", 100, None), RegistryError, "core.invalid_input"),
        (admin.DistrictChange(9, "gp", 100, 999_999), DoctorNotAtEntity, "facilities.doctor_not_at_entity"),
    ],
)
def test_a_wrong_district_is_a_coded_error_and_writes_nothing(
    sessions: sessionmaker[Session],
    two: tuple[Actor, Actor, int, int],
    change: admin.DistrictChange,
    error: type[RegistryError],
    code: str,
) -> None:
    me, _, site_id, _ = two
    with sessions() as s:
        before = len(s.scalars(select(District.id)).all())
        with pytest.raises(error) as caught:
            admin.write_district(session=s, actor=me, site_id=site_id, day=DAY, change=change)
        assert caught.value.code == code
        s.rollback()
        assert len(s.scalars(select(District.id)).all()) == before


def test_another_organizations_site_district_and_post_answer_as_missing(
    sessions: sessionmaker[Session], two: tuple[Actor, Actor, int, int]
) -> None:
    me, other, _, their_site = two
    with sessions.begin() as s:
        their_district = s.scalars(select(District.id).where(District.site_id == their_site)).first()
        doctor = add_practitioner(
            session=s,
            actor=other,
            iin="550101300127",
            surname="Омаров",
            given_name="Серік",
            patronymic=None,
            specialties=[],
            entity_id=other.entity_id or 0,
            site_id=None,
            title="Терапевт",
            rate=1.0,
            valid_from=dt.date(2024, 1, 1),
        )
        post_id = s.scalars(select(Post.id).where(Post.practitioner_id == doctor.id)).one()
    with sessions() as s:
        with pytest.raises(NotFound):
            admin.update_site(
                session=s, actor=me, site_id=their_site, change=admin.SiteChange("a", "b", "", "", 51.2, 71.5)
            )
        with pytest.raises(NotFound):
            admin.write_district(
                session=s,
                actor=me,
                site_id=their_site,
                day=DAY,
                district_id=their_district,
                change=admin.DistrictChange(1, "gp", 10, None),
            )
        with pytest.raises(NotFound):
            admin.end_post(session=s, actor=me, post_id=post_id, last_day=DAY)
        # nor may my district name their doctor
        my_site = s.scalars(select(Site.id).where(Site.entity_id == me.entity_id)).first()
        assert my_site is not None
        with pytest.raises(DoctorNotAtEntity):
            admin.write_district(
                session=s, actor=me, site_id=my_site, day=DAY, change=admin.DistrictChange(9, "gp", 10, doctor.id)
            )


def test_a_post_is_closed_after_its_last_day_never_before_it_began(
    sessions: sessionmaker[Session], two: tuple[Actor, Actor, int, int]
) -> None:
    me, _, site_id, _ = two
    with sessions.begin() as s:
        doctor = add_practitioner(
            session=s,
            actor=me,
            iin="880315400123",
            surname="Ахметова",
            given_name="Айгерим",
            patronymic=None,
            specialties=["gp"],
            entity_id=me.entity_id or 0,
            site_id=site_id,
            title="Врач",
            rate=1.0,
            valid_from=dt.date(2024, 1, 1),
        )
        post_id = s.scalars(select(Post.id).where(Post.practitioner_id == doctor.id)).one()
    with sessions() as s, pytest.raises(InvalidDates):
        admin.end_post(session=s, actor=me, post_id=post_id, last_day=dt.date(2023, 12, 30))
    with sessions.begin() as s:
        admin.end_post(session=s, actor=me, post_id=post_id, last_day=DAY)
    with sessions() as s:
        post = s.get(Post, post_id)
        assert post is not None and post.valid_to == DAY + dt.timedelta(days=1)
        assert [e.purpose for e in _events(s, "practitioner.post_end")] == [f"last day {DAY.isoformat()}"]
