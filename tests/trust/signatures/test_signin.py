"""Signing in with an EDS (issue 16, item 6): a CMS over a one-time challenge, verified like a record signature,
opens the citizen account of the certificate's IIN; every refusal has its code and is audited."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts import challenges
from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import create_account
from emhana.audit.models import AuditEvent
from emhana.devtools.pki_demo import make_citizen
from emhana.identity.models import Person
from emhana.identity.rules import Sex, make_iin
from emhana.kernel import errors
from emhana.kernel.i18n import translate
from emhana.trust.keys import pki
from emhana.trust.signatures.cms import sign_detached
from emhana.trust.signatures.signin import AccountInactive, EdsSignIn
from emhana.trust.signatures.truststore import TrustStore
from tests.builders.people import add_person
from tests.builders.signatures import Pki, pki_of

ORIGIN = "https://emhana.test"


def _now() -> dt.datetime:
    """The wall clock, where the test PKI stands and OpenSSL writes the signingTime."""
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def p() -> Pki:
    return pki_of("ec")


def _method(p: Pki, crl: x509.CertificateRevocationList | None = None) -> EdsSignIn:
    return EdsSignIn(trust=TrustStore(anchors=(p.root.certificate,), crls=(crl or p.crl,)))


def _iin_of(sessions: sessionmaker[Session], person_id: int) -> str:
    with sessions() as s:
        return s.get_one(Person, person_id).iin


def _citizen(p: Pki, iin: str) -> pki.Issued:
    return make_citizen(
        p.inter, surname="СЕЙТҚАЛИ", given_name="ДАНА", iin=iin, not_before=p.now - dt.timedelta(days=1)
    )


def _answer(p: Pki, issued: pki.Issued, nonce: str, data: bytes) -> dict[str, str]:
    der = sign_detached(data, issued.key, issued.certificate, [p.inter.certificate])
    return {"challenge": nonce, "cms": base64.b64encode(der).decode()}


def _attempt(
    sessions: sessionmaker[Session],
    method: EdsSignIn,
    make_answer: object,
    *,
    at: dt.datetime | None = None,
) -> object:
    """Start and finish one sign-in in one unit of work (committed even when refused, as the page does)."""
    with sessions.begin() as s:
        started = method.start(session=s, origin=ORIGIN)
        answer = make_answer(started.nonce, started.challenge)  # type: ignore[operator]
        try:
            return method.finish(session=s, answer=answer, at=at)
        except errors.RegistryError as exc:
            return exc


def test_a_registered_person_signs_in_and_gets_one_citizen_account(sessions: sessionmaker[Session], p: Pki) -> None:
    iin = _iin_of(sessions, add_person(sessions))
    issued = _citizen(p, iin)
    method = _method(p)
    first = _attempt(sessions, method, lambda n, d: _answer(p, issued, n, d), at=_now())
    again = _attempt(sessions, method, lambda n, d: _answer(p, issued, n, d), at=_now())
    assert not isinstance(first, Exception) and not isinstance(again, Exception)
    assert first.actor.account_id == again.actor.account_id  # type: ignore[attr-defined]
    assert first.actor.role is Role.CITIZEN and first.iin == iin  # type: ignore[attr-defined]
    with sessions() as s:
        accounts = s.scalars(select(Account).where(Account.role == "citizen")).all()
        assert len(accounts) == 1 and accounts[0].password_hash is None
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert "account.created_by_eds" in actions and actions.count("auth.eds_sign_in") == 2
        outcomes = list(s.scalars(select(challenges.SignInChallenge.outcome)))
        assert outcomes == ["signed_in", "signed_in"]


def test_an_existing_citizen_account_is_used_and_a_deactivated_one_refused(
    sessions: sessionmaker[Session], p: Pki
) -> None:
    pid = add_person(sessions)
    with sessions.begin() as s:
        account = create_account(
            session=s, username="dana", password=None, role=Role.CITIZEN, display_name="Dana", person_id=pid
        )
        account_id = account.id
    issued = _citizen(p, _iin_of(sessions, pid))
    done = _attempt(sessions, _method(p), lambda n, d: _answer(p, issued, n, d), at=_now())
    assert done.actor.account_id == account_id  # type: ignore[attr-defined]
    with sessions.begin() as s:
        s.get_one(Account, account_id).active = False
    refused = _attempt(sessions, _method(p), lambda n, d: _answer(p, issued, n, d), at=_now())
    assert isinstance(refused, AccountInactive) and refused.code == "eds.account_inactive"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 1  # never a second account


def test_a_challenge_is_single_use_short_lived_and_known(sessions: sessionmaker[Session], p: Pki) -> None:
    issued = _citizen(p, _iin_of(sessions, add_person(sessions)))
    method = _method(p)
    at = _now()
    with sessions.begin() as s:
        started = method.start(session=s, origin=ORIGIN)
    answer = _answer(p, issued, started.nonce, started.challenge)
    with sessions.begin() as s:
        method.finish(session=s, answer=answer, at=at)
    with sessions.begin() as s, pytest.raises(challenges.ChallengeUsed) as used:
        method.finish(session=s, answer=answer, at=at)
    assert used.value.code == "eds.challenge_used"
    with sessions.begin() as s, pytest.raises(challenges.ChallengeUnknown):
        method.finish(session=s, answer={**answer, "challenge": "no-such-challenge"}, at=at)
    late = _attempt(
        sessions, method, lambda n, d: _answer(p, issued, n, d), at=_now() + challenges.TTL + dt.timedelta(minutes=2)
    )
    assert isinstance(late, challenges.ChallengeExpired) and late.code == "eds.challenge_expired"
    assert started.challenge.startswith(b"emhana-sign-in/v1\nhttps://emhana.test\n")


@pytest.mark.parametrize(
    "case, code",
    [
        ("other_data", "signature.digest_mismatch"),
        ("bad_value", "signature.bad_signature"),
        ("not_base64", "signature.malformed"),
        ("untrusted", "signature.untrusted_chain"),
        ("expired", "signature.expired"),
        ("revoked", "signature.revoked"),
        ("no_iin", "eds.no_iin"),
        ("unknown_person", "eds.unknown_person"),
    ],
)
def test_refusals_are_coded_audited_and_open_nothing(
    sessions: sessionmaker[Session], p: Pki, case: str, code: str
) -> None:
    iin = _iin_of(sessions, add_person(sessions))
    at = _now()
    issued = _citizen(p, iin)
    crl = None

    def answer(nonce: str, data: bytes) -> dict[str, str]:
        signer, chain, signed = issued, [p.inter.certificate], data
        if case == "other_data":
            signed = data + b"x"
        elif case == "untrusted":
            other = pki.make_root(not_before=p.now - dt.timedelta(days=1), algorithm="ec")
            inter = pki.make_intermediate(other, not_before=p.now - dt.timedelta(days=1), algorithm="ec")
            signer = make_citizen(inter, surname="X", given_name="Y", iin=iin, not_before=p.now - dt.timedelta(days=1))
            chain = [inter.certificate]
        elif case == "expired":
            signer = make_citizen(
                p.inter, surname="X", given_name="Y", iin=iin, not_before=p.now - dt.timedelta(days=400)
            )
        elif case == "no_iin":
            signer = p.person(iin=iin)
            bare = pki.name(cn="NO IIN", sn="NO", c="KZ")
            signer = pki.issue_certificate(
                bare,
                signer.key,
                issuer=p.inter,
                not_before=p.now - dt.timedelta(days=1),
                days=30,
                key_usage=signer.certificate.extensions.get_extension_for_class(x509.KeyUsage).value,
            )
        elif case == "unknown_person":
            signer = _citizen(p, make_iin(dt.date(1960, 1, 1), Sex.FEMALE, 9876) or "")
        der = sign_detached(signed, signer.key, signer.certificate, chain)
        if case == "bad_value":
            der = der[:-1] + bytes([der[-1] ^ 1])
        text = base64.b64encode(der).decode()
        return {"challenge": nonce, "cms": "%%%" if case == "not_base64" else text}

    if case == "revoked":
        crl = p.crl_of([(issued.certificate, p.now - dt.timedelta(hours=1))], this_update=p.now)
    refused = _attempt(sessions, _method(p, crl), answer, at=at)
    assert isinstance(refused, errors.RegistryError), refused
    assert refused.code == code
    english = refused.english()
    for lang in ("kk", "ru"):
        assert translate(lang, refused.template(), refused.params) not in ("", english), lang
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 0
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.eds_refused")).one()
        assert event.purpose == code and event.account_id is None
        row = s.scalars(select(challenges.SignInChallenge)).one()
        assert row.used_at is not None and row.outcome == code and row.account_id is None
