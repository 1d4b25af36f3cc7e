"""The sign-in interface (issue 16, item 6): the password and EDS methods behind one protocol; the OpenID Connect
class is a documented skeleton that refuses to run (it is wired nowhere)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import create_account
from emhana.accounts.signin import OidcSignIn, PasswordSignIn, SignInMethod
from emhana.kernel.errors import BadCredentials
from emhana.trust.signatures.signin import EdsSignIn
from emhana.trust.signatures.truststore import TrustStore


def test_password_and_eds_are_sign_in_methods(sessions: sessionmaker[Session]) -> None:
    methods: list[SignInMethod] = [PasswordSignIn(), EdsSignIn(trust=TrustStore(anchors=()))]
    assert [m.name for m in methods] == ["password", "eds"]
    with sessions.begin() as s:
        create_account(session=s, username="aigul", password="long-enough-pass", role=Role.FUND_ADMIN, display_name="A")
    with sessions.begin() as s:
        assert methods[0].start(session=s, origin="https://x").method == "password"
        verified = methods[0].finish(session=s, answer={"username": "aigul", "password": "long-enough-pass"})
        assert verified.actor.username == "aigul" and verified.iin is None
        with pytest.raises(BadCredentials):
            methods[0].finish(session=s, answer={"username": "aigul", "password": "wrong"})
        started = methods[1].start(session=s, origin="https://x")
        assert started.method == "eds" and started.nonce and started.nonce.encode() in started.challenge


def test_openid_connect_is_a_skeleton_that_refuses_to_run(session: Session) -> None:
    oidc = OidcSignIn(issuer="https://idp.example", client_id="emhana", redirect_uri="https://emhana.example/cb")
    with pytest.raises(NotImplementedError):
        oidc.start(session=session, origin="https://emhana.example")
    with pytest.raises(NotImplementedError):
        oidc.finish(session=session, answer={"code": "x", "state": "y"})
