"""Account administration (emhana.accounts.admin): the Fund appoints organizations' administrators, who appoint
their own staff only; every change is audited through the one writer; deactivation, resets and role changes
end the account's sessions; a one-time password opens no session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts import admin
from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, LocalAuthenticator, actor_for_token, issue_token
from emhana.kernel.errors import (
    AccountInvalid,
    AccountNotFound,
    AccountUnchangeable,
    BadCredentials,
    NotAuthenticated,
    PasswordChangeRequired,
    RoleNotAllowed,
    UsernameTaken,
    WeakPassword,
)
from tests.builders.accounts import NEW_PASSWORD, Orgs, account_events, two_orgs

MakeActor = Callable[..., tuple[Actor, str]]


@pytest.fixture
def fund(make_actor: MakeActor) -> Actor:
    return make_actor(Role.FUND_ADMIN)[0]


@pytest.fixture
def orgs(sessions: sessionmaker[Session], fund: Actor) -> Orgs:
    return two_orgs(sessions, fund)


def create(
    sessions: sessionmaker[Session],
    actor: Actor | None,
    *,
    role: Role,
    username: str = "new.user",
    name: str = "Жаңа қызметкер",
    entity_id: int | None = None,
) -> admin.Issued:
    new = admin.NewAccount(username=username, display_name=name, role=role, entity_id=entity_id)
    with sessions.begin() as s:
        issued = admin.create(session=s, actor=actor, new=new)
        s.expunge(issued.account)
        return issued


def test_the_fund_appoints_an_organization_administrator_who_appoints_its_staff(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs, make_actor: MakeActor
) -> None:
    head = create(sessions, fund, username="head.a", role=Role.ENTITY_ADMIN, entity_id=orgs.a)
    assert head.one_time_password and head.account.must_change_password and head.account.created_by == fund.account_id
    head_actor, _ = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    clerk = create(sessions, head_actor, username="clerk.a", role=Role.REGISTRAR)  # its own organization implied
    assert (clerk.account.role, clerk.account.entity_id) == ("registrar", orgs.a)
    mis = create(sessions, head_actor, username="mis.a", role=Role.MIS_CLIENT)
    assert mis.account.entity_id == orgs.a
    assert account_events(sessions, clerk.account.id) == [
        ("account.created", head_actor.account_id, f"role=registrar entity={orgs.a} active=yes")
    ]


def test_an_organization_administrator_cannot_reach_beyond_its_staff(
    sessions: sessionmaker[Session], orgs: Orgs, make_actor: MakeActor
) -> None:
    head_a, _ = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    other, _ = make_actor(Role.REGISTRAR, entity_id=orgs.b)
    for role, entity_id in (
        (Role.REGISTRAR, orgs.b),
        (Role.ENTITY_ADMIN, None),
        (Role.FUND_ADMIN, None),
        (Role.CITIZEN, None),
    ):
        with pytest.raises(RoleNotAllowed):
            create(sessions, head_a, username="x.user", role=role, entity_id=entity_id)
    with sessions.begin() as s, pytest.raises(AccountNotFound):
        admin.administered(session=s, actor=head_a, account_id=other.account_id)  # as if it did not exist
    with sessions.begin() as s, pytest.raises(AccountNotFound):
        admin.administered(session=s, actor=head_a, account_id=10**9)
    own = create(sessions, head_a, username="clerk.a", role=Role.REGISTRAR)
    with sessions.begin() as s:
        account = admin.administered(session=s, actor=head_a, account_id=own.account.id)
        with pytest.raises(RoleNotAllowed):  # nor move its staff to another organization
            admin.set_role(session=s, actor=head_a, account=account, role=Role.REGISTRAR, entity_id=orgs.b)
        with pytest.raises(RoleNotAllowed):  # nor make one an administrator
            admin.set_role(session=s, actor=head_a, account=account, role=Role.ENTITY_ADMIN)
        total, rows = admin.listing(session=s, actor=head_a)
    assert (total, [a.username for a in rows]) == (1, ["clerk.a"])


def test_bad_details_are_refused_before_anything_is_written(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    create(sessions, fund, username="head.a", role=Role.ENTITY_ADMIN, entity_id=orgs.a)
    with pytest.raises(UsernameTaken):
        create(sessions, fund, username="head.a", role=Role.ENTITY_ADMIN, entity_id=orgs.b)
    with pytest.raises(AccountInvalid):
        create(sessions, fund, username="head.b", role=Role.ENTITY_ADMIN)  # bound to no organization
    with pytest.raises(AccountInvalid):
        create(sessions, fund, username="head.b", role=Role.ENTITY_ADMIN, entity_id=10**9)
    with pytest.raises(AccountInvalid):
        create(sessions, fund, username="demo-head", role=Role.ENTITY_ADMIN, entity_id=orgs.b)
    with pytest.raises(AccountInvalid):
        create(sessions, fund, username="head.b", name="Ai\u202egul", role=Role.ENTITY_ADMIN, entity_id=orgs.b)
    with sessions() as s:
        assert admin.listing(session=s, actor=None)[0] == 2  # the Fund and head.a


def test_a_one_time_password_opens_no_session_until_its_holder_chooses_one(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    issued = create(sessions, fund, username="head.a", role=Role.ENTITY_ADMIN, entity_id=orgs.a)
    otp = str(issued.one_time_password)
    auth = LocalAuthenticator()
    with sessions.begin() as s, pytest.raises(PasswordChangeRequired):
        auth.authenticate(session=s, username="head.a", password=otp)
    with sessions.begin() as s, pytest.raises(WeakPassword):
        admin.change_password(session=s, username="head.a", password=otp, new_password="short")
    with sessions.begin() as s, pytest.raises(WeakPassword):
        admin.change_password(session=s, username="head.a", password=otp, new_password=otp)
    with sessions.begin() as s, pytest.raises(BadCredentials):
        admin.change_password(session=s, username="head.a", password="not-it", new_password=NEW_PASSWORD)
    with sessions.begin() as s:
        admin.change_password(session=s, username="head.a", password=otp, new_password=NEW_PASSWORD)
    with sessions.begin() as s:
        assert auth.authenticate(session=s, username="head.a", password=NEW_PASSWORD).role is Role.ENTITY_ADMIN
        with pytest.raises(BadCredentials):
            auth.authenticate(session=s, username="head.a", password=otp)
    actions = [a for a, _, _ in account_events(sessions, issued.account.id)]
    assert actions == ["account.created", "account.password_changed"]


def live(sessions: sessionmaker[Session], token: str) -> bool:
    with sessions() as s:
        try:
            actor_for_token(session=s, token=token)
        except NotAuthenticated:
            return False
        return True


def token_of(sessions: sessionmaker[Session], account_id: int) -> str:
    with sessions.begin() as s:
        account = s.get(Account, account_id)
        assert account is not None
        account.must_change_password = False
        from emhana.accounts.service import actor_of

        return issue_token(session=s, actor=actor_of(account), ttl=dt.timedelta(hours=1))


@pytest.mark.parametrize("change", ["deactivate", "reset", "role"])
def test_deactivation_reset_and_role_change_end_the_sessions_at_once(
    sessions: sessionmaker[Session], orgs: Orgs, make_actor: MakeActor, change: str
) -> None:
    head, _ = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    clerk = create(sessions, head, username="clerk.a", role=Role.REGISTRAR)
    token = token_of(sessions, clerk.account.id)
    assert live(sessions, token)
    with sessions.begin() as s:
        account = admin.administered(session=s, actor=head, account_id=clerk.account.id)
        if change == "deactivate":
            admin.deactivate(session=s, actor=head, account=account)
        elif change == "reset":
            assert admin.reset_password(session=s, actor=head, account=account).one_time_password
        else:
            admin.set_role(session=s, actor=head, account=account, role=Role.CLINICIAN)
    assert not live(sessions, token)
    last = account_events(sessions, clerk.account.id)[-1]
    expected = {
        "deactivate": ("account.deactivated", head.account_id, f"role=registrar entity={orgs.a} active=no"),
        "reset": ("account.password_reset", head.account_id, f"role=registrar entity={orgs.a} active=yes"),
        "role": ("account.role_changed", head.account_id, f"role=clinician entity={orgs.a} active=yes"),
    }
    assert last == expected[change]


def test_no_one_changes_their_own_account_or_a_deactivated_one(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    head = create(sessions, fund, username="head.a", role=Role.ENTITY_ADMIN, entity_id=orgs.a)
    with sessions.begin() as s:
        me = s.get(Account, fund.account_id)
        assert me is not None
        with pytest.raises(AccountUnchangeable):
            admin.deactivate(session=s, actor=fund, account=me)
    with sessions.begin() as s:
        account = admin.administered(session=s, actor=fund, account_id=head.account.id)
        admin.deactivate(session=s, actor=fund, account=account)
        assert account.deactivated_at is not None
    with sessions.begin() as s:
        account = admin.administered(session=s, actor=fund, account_id=head.account.id)
        with pytest.raises(AccountUnchangeable):
            admin.reset_password(session=s, actor=fund, account=account)
        with pytest.raises(AccountUnchangeable):
            admin.set_role(session=s, actor=fund, account=account, role=Role.VERIFIER)


def test_the_fund_moves_an_administrator_to_another_organization(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    head = create(sessions, fund, username="head.a", role=Role.ENTITY_ADMIN, entity_id=orgs.a)
    with sessions.begin() as s:
        account = admin.administered(session=s, actor=fund, account_id=head.account.id)
        moved = admin.set_role(session=s, actor=fund, account=account, role=Role.ENTITY_ADMIN, entity_id=orgs.b)
        assert moved.entity_id == orgs.b
        inspector = admin.set_role(session=s, actor=fund, account=account, role=Role.VERIFIER)
        assert (inspector.role, inspector.entity_id) == ("verifier", None)
    actions = [a for a, _, _ in account_events(sessions, head.account.id)]
    assert actions == ["account.created", "account.role_changed", "account.role_changed"]


def test_the_writer_refuses_to_write_unaudited(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, fund: Actor, orgs: Orgs
) -> None:
    monkeypatch.setattr(admin, "_recorders", [])
    with pytest.raises(RuntimeError, match="audited"):
        create(sessions, fund, username="head.a", role=Role.ENTITY_ADMIN, entity_id=orgs.a)
    with sessions() as s:
        assert admin.listing(session=s, actor=fund)[0] == 0
