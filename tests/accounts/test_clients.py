"""MIS client applications (emhana.accounts.clients, issue 17): the Fund registers one for any organization, an
organization's administrator for its own only; each is bound to one organization through its own mis_client
account (no password); its JWK set holds public RS384/ES384 keys with kids, never a private key; its scopes are
system scopes of the FHIR door; every change is audited through the one account writer; deactivation ends its
tokens."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import cache

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts import admin, clients
from emhana.accounts.models import Account, ApiToken, ClientApp
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, actor_for_token, actor_of, issue_token
from emhana.kernel.errors import AccountUnchangeable, BadCredentials, NotAuthenticated
from tests.builders.accounts import Orgs, account_events, two_orgs
from tests.builders.clients import KeyPair, ec_key, rsa_key

MakeActor = Callable[..., tuple[Actor, str]]


@pytest.fixture
def fund(make_actor: MakeActor) -> Actor:
    return make_actor(Role.FUND_ADMIN)[0]


@pytest.fixture
def orgs(sessions: sessionmaker[Session], fund: Actor) -> Orgs:
    return two_orgs(sessions, fund)


def register(
    sessions: sessionmaker[Session],
    actor: Actor | None,
    *,
    entity_id: int | None,
    name: str = "Damu MIS",
    jwks: str | None = None,
    scopes: tuple[str, ...] = ("system/Observation.c", "system/Patient.rs"),
) -> ClientApp:
    with sessions.begin() as s:
        client = clients.register(
            session=s,
            actor=actor,
            new=clients.NewClient(name=name, entity_id=entity_id, jwks=jwks, scopes=scopes),
        )
        s.expunge(client)
        return client


def test_the_fund_registers_a_client_bound_to_one_organization_with_its_own_account(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    key = ec_key("k1")
    client = register(sessions, fund, entity_id=orgs.b, jwks=key.jwks())
    assert client.entity_id == orgs.b and client.active
    assert len(client.client_id) == 32 and client.scopes == "system/Observation.c system/Patient.rs"
    assert json.loads(client.jwks)["keys"][0]["kid"] == "k1"
    with sessions() as s:
        account = s.get(Account, client.account_id)
        assert account is not None
        assert (account.role, account.entity_id, account.password_hash) == ("mis_client", orgs.b, None)
        assert account.username == f"client-{client.client_id}" and account.created_by == fund.account_id
    assert account_events(sessions, client.account_id) == [
        ("client.registered", fund.account_id, f"role=mis_client entity={orgs.b} active=yes")
    ]


def test_a_client_account_has_no_password_to_sign_in_with(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    from emhana.accounts.service import LocalAuthenticator

    client = register(sessions, fund, entity_id=orgs.a)
    with sessions() as s, pytest.raises(BadCredentials):
        LocalAuthenticator().authenticate(session=s, username=f"client-{client.client_id}", password="")


def test_an_organization_administrator_registers_for_its_own_organization_only(
    sessions: sessionmaker[Session], make_actor: MakeActor, orgs: Orgs
) -> None:
    admin_a, _ = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    own = register(sessions, admin_a, entity_id=None)  # left out: its own organization
    assert own.entity_id == orgs.a
    with pytest.raises(clients.NotOwnOrganization):
        register(sessions, admin_a, entity_id=orgs.b)
    with sessions() as s:
        assert s.scalar(select(ClientApp.entity_id).where(ClientApp.entity_id == orgs.b)) is None


@pytest.mark.parametrize("role", [Role.REGISTRAR, Role.CLINICIAN, Role.MIS_CLIENT, Role.VERIFIER, Role.CITIZEN])
def test_other_roles_register_nothing(
    sessions: sessionmaker[Session], make_actor: MakeActor, orgs: Orgs, role: Role
) -> None:
    bound = role in (Role.REGISTRAR, Role.CLINICIAN, Role.MIS_CLIENT)
    actor, _ = make_actor(role, entity_id=orgs.a if bound else None)
    with pytest.raises((clients.NotOwnOrganization, clients.ClientInvalid)):
        register(sessions, actor, entity_id=orgs.a)


def test_each_keeper_lists_and_reads_only_what_it_keeps(
    sessions: sessionmaker[Session], fund: Actor, make_actor: MakeActor, orgs: Orgs
) -> None:
    of_a = register(sessions, fund, entity_id=orgs.a, name="MIS of A")
    of_b = register(sessions, fund, entity_id=orgs.b, name="MIS of B")
    admin_a, _ = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    with sessions() as s:
        assert [c.name for c in clients.listing(session=s, actor=admin_a)[1]] == ["MIS of A"]
        assert {c.name for c in clients.listing(session=s, actor=fund)[1]} == {"MIS of A", "MIS of B"}
        assert [c.name for c in clients.listing(session=s, actor=fund, entity_id=orgs.b)[1]] == ["MIS of B"]
        assert clients.kept(session=s, actor=admin_a, client_id=of_a.client_id).name == "MIS of A"
        with pytest.raises(clients.ClientNotFound):  # another organization's: as if it did not exist
            clients.kept(session=s, actor=admin_a, client_id=of_b.client_id)
        with pytest.raises(clients.ClientNotFound):
            clients.kept(session=s, actor=admin_a, client_id="no-such-client")


def test_the_key_set_takes_public_rs384_and_es384_keys_with_kids(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    client = register(sessions, fund, entity_id=orgs.a)
    assert json.loads(client.jwks) == {"keys": []}
    both = json.dumps({"keys": [ec_key("e1").jwk, rsa_key("r1").jwk]})
    with sessions.begin() as s:
        row = clients.kept(session=s, actor=fund, client_id=client.client_id)
        clients.set_keys(session=s, actor=fund, client=row, jwks=both)
        assert clients.key_ids(row) == ["e1", "r1"]
    assert [a for a, _, _ in account_events(sessions, client.account_id)] == ["client.registered", "client.keys_set"]


@cache
def _keys() -> tuple[KeyPair, KeyPair, KeyPair]:
    """The keys of the bad sets, made once when a test first needs them (never at collection)."""
    return ec_key("e1"), rsa_key("r1"), rsa_key("r2", bits=1024)


def bad_set(case: str) -> str:
    ec, rsa, small = _keys()
    no = {
        "kid": {k: v for k, v in ec.jwk.items() if k != "kid"},
        "alg": {k: v for k, v in ec.jwk.items() if k != "alg"},
    }
    texts: dict[str, object] = {
        "a list": [ec.jwk],
        "no keys": {"keys": []},
        "a private EC key": {"keys": [ec.private_jwk()]},
        "a private RSA key": {"keys": [rsa.private_jwk()]},
        "no kid": {"keys": [no["kid"]]},
        "a kid twice": {"keys": [ec.jwk, {**rsa.jwk, "kid": "e1"}]},
        "RS256": {"keys": [{**rsa.jwk, "alg": "RS256"}]},
        "ES384 on an RSA key": {"keys": [{**rsa.jwk, "alg": "ES384"}]},
        "no alg": {"keys": [no["alg"]]},
        "an encryption key": {"keys": [{**ec.jwk, "use": "enc"}]},
        "P-256": {"keys": [{**ec.jwk, "crv": "P-256"}]},
        "a point off the curve": {"keys": [{**ec.jwk, "y": ec.jwk["x"]}]},
        "RSA of 1024 bits": {"keys": [small.jwk]},
        "a symmetric key": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s", "alg": "HS256"}]},
    }
    return "{keys" if case == "not json" else json.dumps(texts[case])


BAD_SETS = {
    "not json": clients.MSG_JWKS_SHAPE,
    "a list": clients.MSG_JWKS_SHAPE,
    "no keys": clients.MSG_JWKS_SHAPE,
    "a private EC key": clients.MSG_JWK_PRIVATE,
    "a private RSA key": clients.MSG_JWK_PRIVATE,
    "no kid": clients.MSG_JWK_KID,
    "a kid twice": clients.MSG_JWK_KID,
    "RS256": clients.MSG_JWK_KIND,
    "ES384 on an RSA key": clients.MSG_JWK_KIND,
    "no alg": clients.MSG_JWK_KIND,
    "an encryption key": clients.MSG_JWK_KIND,
    "P-256": clients.MSG_JWK_VALUE,
    "a point off the curve": clients.MSG_JWK_VALUE,
    "RSA of 1024 bits": clients.MSG_JWK_VALUE,
    "a symmetric key": clients.MSG_JWK_PRIVATE,
}


@pytest.mark.parametrize("case", list(BAD_SETS))
def test_a_bad_key_set_is_refused_and_nothing_is_written(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs, case: str
) -> None:
    text = bad_set(case)
    with pytest.raises(clients.KeySetInvalid) as refused:
        clients.parse_jwks(text)
    assert refused.value.template() == BAD_SETS[case], case
    assert refused.value.code == "clients.invalid_jwks"
    with pytest.raises(clients.KeySetInvalid):
        register(sessions, fund, entity_id=orgs.a, jwks=text)
    with sessions() as s:
        assert s.scalar(select(ClientApp.id)) is None
        assert s.scalar(select(Account.id).where(Account.role == "mis_client")) is None


@pytest.mark.parametrize(
    "scope",
    ["patient/Observation.rs", "user/Patient.r", "system/Foo.rs", "system/Observation.x", "system/Observation.",
     "system/Patient.sr", "system/*.cruds", "system/*.c", "openid", "system/Observation.rs?code=1"],
)  # fmt: skip
def test_only_system_scopes_of_the_door_are_given(scope: str) -> None:
    with pytest.raises(clients.ScopeInvalid) as refused:
        clients.parse_scopes([scope])
    assert refused.value.code == "clients.invalid_scope" and refused.value.params["scope"] == scope


def test_system_scopes_are_kept_sorted_and_once() -> None:
    given = ["system/Patient.rs system/Observation.c", "system/*.rs", "system/Patient.rs", "system/Condition.read"]
    assert clients.parse_scopes(given) == "system/*.rs system/Condition.read system/Observation.c system/Patient.rs"
    assert clients.parse_scopes(list(clients.OFFERED_SCOPES))


def test_new_scopes_end_the_clients_tokens(sessions: sessionmaker[Session], fund: Actor, orgs: Orgs) -> None:
    client = register(sessions, fund, entity_id=orgs.a)
    with sessions.begin() as s:
        account = s.get(Account, client.account_id)
        assert account is not None
        token = issue_token(session=s, actor=actor_of(account), ttl=dt.timedelta(minutes=5), scopes=frozenset())
    with sessions.begin() as s:
        row = clients.kept(session=s, actor=fund, client_id=client.client_id)
        clients.set_scopes(session=s, actor=fund, client=row, scopes=["system/Patient.rs"])
    with sessions() as s:
        assert s.scalar(select(ClientApp.scopes).where(ClientApp.id == client.id)) == "system/Patient.rs"
        with pytest.raises(NotAuthenticated):
            actor_for_token(session=s, token=token)


def test_deactivation_ends_the_clients_tokens_and_its_account(
    sessions: sessionmaker[Session], make_actor: MakeActor, orgs: Orgs
) -> None:
    admin_a, _ = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    client = register(sessions, admin_a, entity_id=None)
    with sessions.begin() as s:
        account = s.get(Account, client.account_id)
        assert account is not None
        token = issue_token(session=s, actor=actor_of(account), ttl=dt.timedelta(minutes=5), scopes=frozenset())
    with sessions.begin() as s:
        row = clients.kept(session=s, actor=admin_a, client_id=client.client_id)
        clients.deactivate(session=s, actor=admin_a, client=row)
        clients.deactivate(session=s, actor=admin_a, client=row)  # once is enough: the second writes nothing
    with sessions() as s:
        assert s.scalar(select(ClientApp.active).where(ClientApp.id == client.id)) is False
        account = s.get(Account, client.account_id)
        assert account is not None and not account.active and account.deactivated_at is not None
        assert s.scalar(select(ApiToken.revoked).where(ApiToken.account_id == client.account_id)) is True
        with pytest.raises(NotAuthenticated):
            actor_for_token(session=s, token=token)
    assert [a for a, _, _ in account_events(sessions, client.account_id)] == ["client.registered", "client.deactivated"]
    with sessions.begin() as s, pytest.raises(clients.ClientInactive):
        row = clients.kept(session=s, actor=admin_a, client_id=client.client_id)
        clients.set_keys(session=s, actor=admin_a, client=row, jwks=ec_key().jwks())


def test_a_client_id_is_registered_once_and_well_formed(sessions: sessionmaker[Session], orgs: Orgs) -> None:
    with sessions.begin() as s:
        clients.register(
            session=s, actor=None, new=clients.NewClient(name="A", entity_id=orgs.a, client_id="vendor-mis.1")
        )
    for client_id, error in (("vendor-mis.1", clients.ClientIdTaken), ("Bad Id", clients.ClientInvalid)):
        with sessions.begin() as s, pytest.raises(error):
            clients.register(
                session=s, actor=None, new=clients.NewClient(name="B", entity_id=orgs.b, client_id=client_id)
            )


def test_an_unknown_organization_or_a_bad_name_is_refused(sessions: sessionmaker[Session], fund: Actor) -> None:
    with pytest.raises(clients.ClientInvalid) as unknown:
        register(sessions, fund, entity_id=987_654)
    assert unknown.value.template() == clients.MSG_UNKNOWN_ORGANIZATION
    with pytest.raises(clients.ClientInvalid):
        register(sessions, fund, entity_id=None)  # the Fund names the organization


def test_an_existing_mis_account_of_the_organization_may_carry_the_client(
    sessions: sessionmaker[Session], make_actor: MakeActor, orgs: Orgs
) -> None:
    mis_a, _ = make_actor(Role.MIS_CLIENT, entity_id=orgs.a)
    mis_b, _ = make_actor(Role.MIS_CLIENT, entity_id=orgs.b)
    clerk_a, _ = make_actor(Role.REGISTRAR, entity_id=orgs.a)
    for wrong in (mis_b.account_id, clerk_a.account_id, 987_654):  # another organization's, another role, none
        with sessions.begin() as s, pytest.raises(clients.ClientInvalid):
            clients.register(session=s, actor=None, new=clients.NewClient(name="X", entity_id=orgs.a, account_id=wrong))
    with sessions.begin() as s:
        made = clients.register(
            session=s, actor=None, new=clients.NewClient(name="Demo MIS", entity_id=orgs.a, account_id=mis_a.account_id)
        )
        assert made.account_id == mis_a.account_id
    with sessions.begin() as s, pytest.raises(clients.ClientInvalid):  # one client per account
        clients.register(
            session=s, actor=None, new=clients.NewClient(name="Y", entity_id=orgs.a, account_id=mis_a.account_id)
        )


def test_the_account_of_a_client_is_changed_only_through_its_client(
    sessions: sessionmaker[Session], fund: Actor, orgs: Orgs
) -> None:
    client = register(sessions, fund, entity_id=orgs.a)
    with sessions.begin() as s:
        account = s.get(Account, client.account_id)
        assert account is not None
        with pytest.raises(AccountUnchangeable):
            admin.set_role(session=s, actor=fund, account=account, role=Role.REGISTRAR)
        with pytest.raises(AccountUnchangeable):
            admin.reset_password(session=s, actor=fund, account=account)
    with sessions() as s:
        kept = s.get(Account, client.account_id)
        assert kept is not None and kept.role == Role.MIS_CLIENT.value and kept.entity_id == orgs.a
        assert kept.password_hash is None
