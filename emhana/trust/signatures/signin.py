"""Signing in with an EDS, as eGov does (issue 16, item 6; docs/sign-in.md).

The login page asks the person's local NCALayer to sign a one-time challenge (``emhana.accounts.challenges``);
``EdsSignIn.finish`` takes the challenge back once, verifies the detached CMS over its bytes exactly as a record
signature is verified (``cms.verify_detached``: signature, path to the configured anchors, validity, cached CRL,
signing key usage), reads the IIN from the certificate's subject (SERIALNUMBER=IIN…) and opens the citizen
account of the registered person with that IIN.

Decision (documented in docs/sign-in.md): citizens have no passwords (``accounts.rules``: "citizens sign in with
their EDS"), so a registered person whose IIN has no citizen account gets one on the first EDS sign-in, with no
password, written through ``accounts.admin.write_account`` (audited, ``account.created_by_eds``). An IIN that no
registered person has is refused (``eds.unknown_person``): nothing is created for it. A deactivated citizen account
is refused, never replaced. Every outcome, success or refusal, is an audit event and is kept on the challenge.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts import challenges
from emhana.accounts.admin import write_account
from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import actor_of
from emhana.accounts.signin import Started, Verified
from emhana.audit.service import record_event
from emhana.identity.models import Person
from emhana.kernel import clock
from emhana.kernel.errors import AuthError, RegistryError, SignatureMalformed
from emhana.kernel.i18n import N_
from emhana.trust.signatures import reasons
from emhana.trust.signatures.cms import verify_detached
from emhana.trust.signatures.truststore import TrustStore

MAX_CMS = 64 * 1024  # base64 characters; a CMS with its chain is a few kilobytes


class CertificateWithoutIin(AuthError):
    code = "eds.no_iin"
    status = 401
    message = N_("The certificate names no IIN. Sign in with your personal certificate.")


class UnknownPerson(AuthError):
    code = "eds.unknown_person"
    status = 401
    message = N_("No registered person has the IIN of this certificate, so no account can be opened for it.")


class AccountInactive(AuthError):
    code = "eds.account_inactive"
    status = 403
    message = N_("Your account is deactivated. Ask the Fund's support to restore it.")


def decode_cms(text: str) -> bytes:
    """Return the DER of a base64 CMS (NCALayer's answer); raise SignatureMalformed."""
    cleaned = "".join(text.split())
    if not cleaned or len(cleaned) > MAX_CMS:
        raise SignatureMalformed(reason=reasons.TOO_LARGE if cleaned else reasons.NOT_BASE64)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureMalformed(reason=reasons.NOT_BASE64) from None


def citizen_account(session: Session, person: Person) -> Account:
    """Return the citizen account of a registered person, creating it on her first EDS sign-in; raise
    AccountInactive for a deactivated one."""
    accounts = session.scalars(
        select(Account).where(Account.person_id == person.id, Account.role == Role.CITIZEN.value).order_by(Account.id)
    ).all()
    active = [a for a in accounts if a.active]
    if active:
        return active[0]
    if accounts:
        raise AccountInactive()
    username = f"eds-{person.id}"
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        username = f"eds-{person.id}-{len(accounts) + 1}-{int(clock.now().timestamp())}"
    account = Account(
        username=username,
        password_hash=None,  # signs in with her EDS only
        role=Role.CITIZEN.value,
        display_name=" ".join(p for p in (person.surname, person.given_name, person.patronymic) if p)[:200],
        person_id=person.id,
        entity_id=None,
        active=True,
        must_change_password=False,
        created_by=None,
    )
    write_account(session, account, action="account.created_by_eds", actor=None)
    return account


class EdsSignIn:
    """Sign in with an EDS: a CMS over a one-time challenge, verified against the configured trust store."""

    name = "eds"

    def __init__(self, *, trust: TrustStore) -> None:
        self.trust = trust

    def start(self, *, session: Session, origin: str) -> Started:
        """Issue a one-time challenge for the site; the browser has NCALayer sign its bytes."""
        nonce, data = challenges.issue(session=session, origin=origin)
        return Started(self.name, nonce=nonce, challenge=data)

    def finish(self, *, session: Session, answer: Mapping[str, str], at: dt.datetime | None = None) -> Verified:
        """Verify ``answer["cms"]`` (base64 detached CMS) over the challenge ``answer["challenge"]`` and open the
        citizen account of the certificate's IIN; every refusal is audited and raised as a coded error."""
        now = at or clock.now()
        row: challenges.SignInChallenge | None = None
        try:
            row, data = challenges.consume(session=session, nonce=answer.get("challenge", ""), now=now)
            der = decode_cms(answer.get("cms", ""))
            evidence = verify_detached(
                data,
                der,
                anchors=self.trust.anchors,
                crls=self.trust.crls,
                intermediates=self.trust.intermediates,
                gost=self.trust.gost,
                at=now,
            )
            if evidence.signer_iin is None:
                raise CertificateWithoutIin()
            person = session.scalar(select(Person).where(Person.iin == evidence.signer_iin))
            if person is None:
                raise UnknownPerson()
            account = citizen_account(session, person)
        except RegistryError as exc:
            if row is not None:
                challenges.settle(row, outcome=exc.code)
            record_event(
                session=session,
                actor=None,
                action="auth.eds_refused",
                object_type="sign_in_challenge",
                object_id=str(row.id) if row is not None else "-",
                purpose=exc.code,
                now=now,
            )
            raise
        challenges.settle(row, outcome="signed_in", account_id=account.id)
        actor = actor_of(account)
        record_event(
            session=session,
            actor=actor,
            action="auth.eds_sign_in",
            object_type="sign_in_challenge",
            object_id=str(row.id),
            subject_person_id=person.id,
            purpose="sign in",
            now=now,
        )
        return Verified(actor, iin=evidence.signer_iin, evidence=evidence.to_json())
