"""SMART Backend Services on the token side (issue 17): the pure rules of system scopes and assertion claims, and
the token issue against a client application's registered key set: every check refuses what it must."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.models import Account, ApiToken, ClientAssertion
from emhana.accounts.roles import Role
from emhana.accounts.service import _digest, actor_for_token, actor_of, is_system_token, issue_token
from emhana.accounts.smart import rules
from emhana.accounts.smart.rules import parse_scope
from emhana.accounts.smart.service import Granted, TokenRefused, TokenRequest, issue
from emhana.kernel.errors import NotAuthenticated
from tests.builders.smart import ASSERTION_TYPE, PUSH, Client, Key, make_key, register_client, sign

URL = "https://emhana.example.kz/api/v1/oauth/token"
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

# --- Pure rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "resource", "perms"),
    [
        ("system/Patient.rs", "Patient", "rs"),
        ("system/Observation.c", "Observation", "c"),
        ("system/*.cruds", "*", "cruds"),
        ("system/Patient.read", "Patient", "rs"),
        ("system/Observation.write", "Observation", "cud"),
        ("system/*.*", "*", "cruds"),
        ("system/*.rs", "*", "rs"),
    ],
)
def test_a_system_scope_reads_in_smart_2_and_its_smart_1_equivalents(text: str, resource: str, perms: str) -> None:
    scope = parse_scope(text)
    assert scope is not None and scope.resource == resource and scope.permissions == frozenset(perms)


@pytest.mark.parametrize(
    "text",
    [
        "patient/Patient.rs",  # another context
        "user/Observation.rs",
        "system/Patient.sr",  # letters out of order
        "system/Patient.rr",
        "system/Patient.x",
        "system/Patient.",
        "system/patient.rs",
        "system/Observation.rs?category=laboratory",  # granular scopes are not understood, so grant nothing
        "launch/patient",
        "openid",
    ],
)
def test_anything_else_is_no_system_scope(text: str) -> None:
    assert parse_scope(text) is None


def test_allows_reads_types_and_the_wildcard() -> None:
    granted = ["system/Patient.rs", "system/*.c"]
    assert rules.allows(granted, "Patient", "r")
    assert not rules.allows(granted, "Patient", "u")
    assert rules.allows(granted, "Observation", "c")
    assert not rules.allows(granted, "Observation", "r")
    assert rules.allowed(granted, "Patient") == frozenset("crs")


@pytest.mark.parametrize(
    ("requested", "granted", "expected"),
    [
        ("system/Patient.rs", "system/Patient.rs system/Observation.c", ("system/Patient.rs",)),
        ("system/Patient.read", "system/Patient.rs", ("system/Patient.read",)),  # granted whole: its own spelling
        ("system/Patient.cruds", "system/Patient.rs", ("system/Patient.rs",)),  # narrowed
        ("system/Observation.rs", "system/*.rs", ("system/Observation.rs",)),
        ("system/*.rs", "system/Patient.rs system/Observation.rs", ()),  # types one by one are no wildcard
        ("system/*.rs", "system/*.r", ("system/*.r",)),
        ("launch/patient openid system/Patient.rs", "system/Patient.rs", ("system/Patient.rs",)),
        ("system/Observation.c", "system/Patient.rs", ()),
        ("system/Patient.rs system/Patient.rs", "system/Patient.rs", ("system/Patient.rs",)),
    ],
)
def test_the_grant_is_the_request_narrowed_to_the_registration(
    requested: str, granted: str, expected: tuple[str, ...]
) -> None:
    assert rules.grant(requested, granted.split()) == expected


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "iss": "c1",
        "sub": "c1",
        "aud": URL,
        "exp": int((NOW + dt.timedelta(minutes=4)).timestamp()),
        "jti": "j1",
    }
    return {**base, **over}


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({}, None),
        ({"aud": [URL, "https://other"]}, None),
        ({"iss": "c2"}, "oauth.assertion_subject"),
        ({"sub": "c2"}, "oauth.assertion_subject"),
        ({"aud": "https://emhana.example.kz/fhir/R4"}, "oauth.assertion_audience"),
        ({"aud": None}, "oauth.assertion_audience"),
        ({"exp": int((NOW - dt.timedelta(minutes=1)).timestamp())}, "oauth.assertion_expired"),
        ({"exp": int((NOW + dt.timedelta(minutes=6)).timestamp())}, "oauth.assertion_too_long"),
        ({"exp": "soon"}, "oauth.assertion_malformed"),
        ({"exp": True}, "oauth.assertion_malformed"),
        ({"jti": ""}, "oauth.assertion_no_jti"),
        ({"jti": 7}, "oauth.assertion_no_jti"),
    ],
)
def test_claims_are_checked(over: dict[str, object], code: str | None) -> None:
    problem = rules.claims_problem(_claims(**over), client_id="c1", token_url=URL, now=NOW)
    assert (problem.code if problem else None) == code
    if problem is not None:
        assert problem.error == "invalid_client" and problem.status == 401


def test_only_public_keys_of_the_algorithm_and_kid_may_verify() -> None:
    rsa_key, ec_key = make_key("r", "RS384"), make_key("e", "ES384")
    jwks = {"keys": [rsa_key.public_jwk, ec_key.public_jwk, {**rsa_key.private_jwk(), "kid": "private"}]}
    assert [k["kid"] for k in rules.public_keys(jwks, kid="r", alg="RS384")] == ["r"]
    assert rules.public_keys(jwks, kid="r", alg="ES384") == []
    assert rules.public_keys(jwks, kid="private", alg="RS384") == []  # a key with private parts verifies nothing
    assert [k["kid"] for k in rules.public_keys(jwks, kid=None, alg="ES384")] == ["e"]
    assert rules.public_keys({"keys": "nonsense"}, kid=None, alg="RS384") == []
    p256 = make_key("p", "ES256").public_jwk
    assert rules.public_keys({"keys": [p256]}, kid="p", alg="ES384") == []  # ES384 means P-384


# --- The token issue, against the database ---------------------------------------------------------------


@pytest.fixture
def client_of(sessions: sessionmaker[Session], seeded_entity: int) -> Callable[..., Client]:
    def make(key: Key, scopes: str = "system/*.rs " + PUSH, **kwargs: object) -> Client:
        with sessions.begin() as s:
            jwks = kwargs.pop("jwks", key.jwks())
            return register_client(s, entity_id=seeded_entity, scopes=scopes, jwks=jwks, **kwargs)  # type: ignore[arg-type]

    return make


def _issue(sessions: sessionmaker[Session], assertion: str, scope: str = "system/Patient.rs", **over: str) -> Granted:
    request = TokenRequest(
        grant_type=over.get("grant_type", "client_credentials"),
        client_assertion_type=over.get("client_assertion_type", ASSERTION_TYPE),
        client_assertion=assertion,
        scope=scope,
        client_id=over.get("client_id"),
    )
    with sessions.begin() as s:
        return issue(session=s, request=request, token_url=URL, now=NOW)


def _refusal(sessions: sessionmaker[Session], assertion: str, scope: str = "system/Patient.rs", **over: str) -> str:
    with pytest.raises(TokenRefused) as caught:
        _issue(sessions, assertion, scope, **over)
    return caught.value.refusal.code


def test_a_good_assertion_gets_a_five_minute_token_with_the_granted_scopes(
    sessions: sessionmaker[Session], client_of: Callable[..., Client]
) -> None:
    key = make_key()
    client = client_of(key)
    granted = _issue(sessions, sign(key, client_id=client.client_id, aud=URL, now=NOW), "system/Patient.rs openid")
    assert granted.scope == "system/Patient.rs" and granted.expires_in == 300
    with sessions() as s:
        actor = actor_for_token(session=s, token=granted.access_token, now=NOW + dt.timedelta(minutes=4))
        assert actor.account_id == client.account_id and actor.entity_id == client.entity_id
        assert actor.scopes == frozenset({"system/Patient.rs"})
        with pytest.raises(Exception, match="Authentication"):
            actor_for_token(session=s, token=granted.access_token, now=NOW + dt.timedelta(minutes=5, seconds=1))


def test_an_ec_p384_key_works_too(sessions: sessionmaker[Session], client_of: Callable[..., Client]) -> None:
    key = make_key("ec", "ES384")
    client = client_of(key)
    assert _issue(sessions, sign(key, client_id=client.client_id, aud=URL, now=NOW)).access_token


@pytest.mark.parametrize(
    ("broken", "code"),
    [
        ({"aud": "https://elsewhere.example/token"}, "oauth.assertion_audience"),
        ({"lifetime": dt.timedelta(minutes=-2)}, "oauth.assertion_expired"),
        ({"lifetime": dt.timedelta(minutes=30)}, "oauth.assertion_too_long"),
        ({"kid": "unknown"}, "oauth.unknown_key"),
        ({"alg": "RS256"}, "oauth.assertion_algorithm"),
        ({"alg": "PS384"}, "oauth.assertion_algorithm"),
        ({"sub": "someone-else"}, "oauth.assertion_subject"),
    ],
)
def test_a_broken_assertion_is_refused(
    sessions: sessionmaker[Session], client_of: Callable[..., Client], broken: dict[str, object], code: str
) -> None:
    key = make_key()
    client = client_of(key)
    args: dict[str, object] = {"aud": URL, "now": NOW, **broken}
    assertion = sign(key, client_id=client.client_id, **args)  # type: ignore[arg-type]
    assert _refusal(sessions, assertion) == code
    with sessions() as s:  # nothing written: no token, no jti kept
        assert s.scalar(select(func.count()).where(ApiToken.account_id == client.account_id)) == 0
        assert s.scalar(select(func.count()).select_from(ClientAssertion)) == 0


def test_an_hmac_assertion_is_refused_whatever_its_secret(
    sessions: sessionmaker[Session], client_of: Callable[..., Client]
) -> None:
    key = make_key()
    client = client_of(key)
    # A classic attack: HS384 keyed with the public key. The algorithm is refused before any key is used.
    forged = sign(key, client_id=client.client_id, aud=URL, now=NOW)
    header, payload, _ = forged.split(".")
    hmac_header = _b64(json.dumps({"alg": "HS384", "kid": key.kid, "typ": "JWT"}).encode())
    mac = hmac.new(json.dumps(key.public_jwk).encode(), f"{hmac_header}.{payload}".encode(), hashlib.sha384)
    forged_mac = f"{hmac_header}.{payload}.{_b64(mac.digest())}"
    assert _refusal(sessions, forged_mac) == "oauth.assertion_algorithm"
    assert _refusal(sessions, f"{header}.{payload}.") == "oauth.assertion_signature"  # no signature at all


def test_a_reused_jti_is_refused_until_it_expires(
    sessions: sessionmaker[Session], client_of: Callable[..., Client]
) -> None:
    key = make_key()
    client = client_of(key)
    first = sign(key, client_id=client.client_id, aud=URL, now=NOW, jti="once")
    _issue(sessions, first)
    assert _refusal(sessions, first) == "oauth.assertion_replayed"
    again = sign(key, client_id=client.client_id, aud=URL, now=NOW, jti="once")  # a new JWT, the same jti
    assert _refusal(sessions, again) == "oauth.assertion_replayed"
    # Another client may use the same jti: the key is (client, jti).
    other_key = make_key("k2")
    other = client_of(other_key)
    _issue(sessions, sign(other_key, client_id=other.client_id, aud=URL, now=NOW, jti="once"))


def test_expired_jtis_are_purged(sessions: sessionmaker[Session], client_of: Callable[..., Client]) -> None:
    key = make_key()
    client = client_of(key)
    with sessions.begin() as s:
        s.add(ClientAssertion(client_id=client.client_id, jti="old", expires_at=NOW - dt.timedelta(hours=1)))
    _issue(sessions, sign(key, client_id=client.client_id, aud=URL, now=NOW, jti="new"))
    with sessions() as s:
        assert s.scalars(select(ClientAssertion.jti)).all() == ["new"]


def test_a_signature_by_another_key_with_the_registered_kid_is_refused(
    sessions: sessionmaker[Session], client_of: Callable[..., Client]
) -> None:
    registered, stranger = make_key("k1"), make_key("stranger")
    client = client_of(registered)
    forged = sign(stranger, client_id=client.client_id, aud=URL, now=NOW, kid="k1")
    assert _refusal(sessions, forged) == "oauth.assertion_signature"


def test_a_private_key_in_the_key_set_is_never_used(
    sessions: sessionmaker[Session], client_of: Callable[..., Client]
) -> None:
    key = make_key()
    client = client_of(key, jwks={"keys": [key.private_jwk()]})
    assert _refusal(sessions, sign(key, client_id=client.client_id, aud=URL, now=NOW)) == "oauth.unknown_key"


def test_an_inactive_or_unknown_client_is_refused(
    sessions: sessionmaker[Session], client_of: Callable[..., Client]
) -> None:
    key = make_key()
    inactive = client_of(key, active=False)
    assert _refusal(sessions, sign(key, client_id=inactive.client_id, aud=URL, now=NOW)) == "oauth.unknown_client"
    assert _refusal(sessions, sign(key, client_id="nobody", aud=URL, now=NOW)) == "oauth.unknown_client"


def test_the_request_itself_is_checked(sessions: sessionmaker[Session], client_of: Callable[..., Client]) -> None:
    key = make_key()
    client = client_of(key, scopes="system/Patient.rs")
    good = sign(key, client_id=client.client_id, aud=URL, now=NOW)
    assert _refusal(sessions, good, grant_type="password") == "oauth.unsupported_grant_type"
    assert _refusal(sessions, good, client_assertion_type="urn:other") == "oauth.assertion_type"
    assert _refusal(sessions, "not-a-jwt") == "oauth.assertion_malformed"
    assert _refusal(sessions, good, client_id="another") == "oauth.assertion_subject"
    assert _refusal(sessions, good, scope="") == "oauth.scope_missing"
    assert _refusal(sessions, good, scope="system/Observation.c") == "oauth.invalid_scope"
    # A refused scope keeps no jti: the same assertion still works with a scope the client holds.
    assert _issue(sessions, good, "system/Patient.rs").scope == "system/Patient.rs"


def test_a_scoped_token_has_the_form_the_scope_gate_looks_for(sessions: sessionmaker[Session]) -> None:
    """Only tokens of the system form are looked up by the scope gate: a scoped token that lacked it is refused."""
    with sessions.begin() as s:
        account = Account(username="gate-check", role=Role.FUND_ADMIN.value, display_name="Gate check")
        s.add(account)
        s.flush()
        actor = actor_of(account)
        person = issue_token(session=s, actor=actor, ttl=dt.timedelta(minutes=5), now=NOW)
        system = issue_token(session=s, actor=actor, ttl=dt.timedelta(minutes=5), now=NOW, scopes=frozenset({"x"}))
        assert not is_system_token(person) and is_system_token(system)
        forged = "plain-token-with-scopes"
        expires = NOW + dt.timedelta(minutes=5)
        s.add(ApiToken(account_id=account.id, token_hash=_digest(forged), created_at=NOW, expires_at=expires))
        s.flush()
        s.execute(update(ApiToken).where(ApiToken.token_hash == _digest(forged)).values(scopes="system/*.rs"))
    with sessions() as s:
        assert actor_for_token(session=s, token=system, now=NOW).scopes == frozenset({"x"})
        assert actor_for_token(session=s, token=person, now=NOW).scopes is None
        with pytest.raises(NotAuthenticated):
            actor_for_token(session=s, token=forged, now=NOW)
