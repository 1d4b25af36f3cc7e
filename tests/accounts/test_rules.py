"""The pure rules of account administration: who appoints whom, how an account is bound, what a username, a
name and a password must look like."""

from __future__ import annotations

import pytest

from emhana.accounts.policy import ORGANIZATION_ROLES
from emhana.accounts.roles import Role
from emhana.accounts.rules import (
    BOUND_ROLES,
    MSG_DEMO_USERNAME,
    MSG_NEEDS_ORGANIZATION,
    MSG_NEEDS_PERSON,
    MSG_NO_ORGANIZATION,
    Binding,
    administers,
    appointable_roles,
    binding_problem,
    display_name_problem,
    password_acceptable,
    username_problem,
)


def test_bound_roles_are_the_access_policy_s_organization_roles() -> None:
    assert BOUND_ROLES == ORGANIZATION_ROLES


def test_the_fund_appoints_organization_administrators_and_inspectors_only() -> None:
    assert appointable_roles(Role.FUND_ADMIN) == {Role.ENTITY_ADMIN, Role.VERIFIER}
    assert administers(Role.FUND_ADMIN, None, Binding(Role.ENTITY_ADMIN, 7))
    assert not administers(Role.FUND_ADMIN, None, Binding(Role.FUND_ADMIN, None))
    assert not administers(Role.FUND_ADMIN, None, Binding(Role.REGISTRAR, 7))


def test_an_organization_administrator_appoints_its_own_staff_only() -> None:
    assert appointable_roles(Role.ENTITY_ADMIN) == {
        Role.REGISTRAR,
        Role.CLINICIAN,
        Role.RESPONSIBLE_THERAPIST,
        Role.MIS_CLIENT,
    }
    assert administers(Role.ENTITY_ADMIN, 7, Binding(Role.MIS_CLIENT, 7))
    assert not administers(Role.ENTITY_ADMIN, 7, Binding(Role.REGISTRAR, 8))  # another organization's
    assert not administers(Role.ENTITY_ADMIN, 7, Binding(Role.ENTITY_ADMIN, 7))  # the Fund appoints these
    assert not administers(Role.ENTITY_ADMIN, 7, Binding(Role.FUND_ADMIN, None))
    assert not administers(Role.ENTITY_ADMIN, None, Binding(Role.REGISTRAR, None))  # unbound: nobody's


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.FUND_ADMIN, Role.ENTITY_ADMIN)])
def test_other_roles_administer_nobody(role: Role) -> None:
    assert appointable_roles(role) == frozenset()
    assert not administers(role, 7, Binding(Role.REGISTRAR, 7))


def test_binding() -> None:
    assert binding_problem(Binding(Role.MIS_CLIENT, None)) == MSG_NEEDS_ORGANIZATION
    assert binding_problem(Binding(Role.ENTITY_ADMIN, None)) == MSG_NEEDS_ORGANIZATION
    assert binding_problem(Binding(Role.FUND_ADMIN, 3)) == MSG_NO_ORGANIZATION
    assert binding_problem(Binding(Role.CITIZEN, None)) == MSG_NEEDS_PERSON
    assert binding_problem(Binding(Role.CITIZEN, None, 5)) is None
    assert binding_problem(Binding(Role.REGISTRAR, 3)) is None
    assert binding_problem(Binding(Role.FUND_ADMIN, None)) is None


def test_usernames_and_names() -> None:
    assert username_problem("aigul.fund") is None
    assert username_problem("a.b@clinic-3_kz") is None
    for bad in ("ab", "Aigul", "айгүл", ".aigul", "a b", "x" * 101):
        assert username_problem(bad) is not None, bad
    assert username_problem("demo-fund-admin") == MSG_DEMO_USERNAME
    assert display_name_problem("Айгүл Сейітқызы") is None
    for bad in ("", "   ", "Ai\u202egul", "Ai\u200bgul", "Ai\x00gul", "x" * 201):
        assert display_name_problem(bad) is not None, repr(bad)


def test_passwords() -> None:
    assert password_acceptable("correct-horse-battery", username="aigul")
    assert not password_acceptable("short-pass", username="aigul")
    assert not password_acceptable("aigul.fund.kz", username="AIGUL.FUND.KZ")
    assert not password_acceptable("same-old-password", username="aigul", old="same-old-password")
