"""One-time sign-in challenges: random, short-lived, single use, kept on the server (issue 16, item 6).

A person who signs in with her EDS signs the bytes of a challenge this module issues (``issue``); the server then
takes it back once (``consume``): a challenge that is unknown, already used or expired is refused with its own
code. Only the SHA-256 of the random nonce is stored, so a copy of the table replays nothing. The challenge's
bytes name the site they were issued for (``origin``), so a signature made for another site does not verify here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from emhana.kernel import clock
from emhana.kernel.db import Base, BigId
from emhana.kernel.errors import AuthError
from emhana.kernel.i18n import N_

TTL = dt.timedelta(minutes=5)
PREFIX = "emhana-sign-in/v1"


class ChallengeUnknown(AuthError):
    code = "eds.challenge_unknown"
    status = 401
    message = N_("This sign-in request is not known here. Start signing in again.")


class ChallengeUsed(AuthError):
    code = "eds.challenge_used"
    status = 401
    message = N_("This sign-in request was already used. Start signing in again.")


class ChallengeExpired(AuthError):
    code = "eds.challenge_expired"
    status = 401
    message = N_("This sign-in request has expired (it is valid for five minutes). Start signing in again.")


class SignInChallenge(Base):
    """A challenge handed to a browser to sign: its nonce's hash, the site, when it lapses, when it was used."""

    __tablename__ = "sign_in_challenge"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    nonce_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(64))  # "signed_in" or the refusal's code
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def challenge_bytes(nonce: str, origin: str, expires_at: dt.datetime) -> bytes:
    """Return the exact bytes a person signs: what, for which site, which nonce, until when."""
    until = expires_at.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    return f"{PREFIX}\n{origin}\n{nonce}\n{until}\n".encode()


def issue(*, session: Session, origin: str, now: dt.datetime | None = None) -> tuple[str, bytes]:
    """Issue a challenge for a site; return its nonce (what the browser sends back) and the bytes to sign."""
    now = now or clock.now()
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
    expires = (now + TTL).replace(microsecond=0)
    session.add(
        SignInChallenge(
            nonce_sha256=_digest(nonce), origin=origin[:200], created_at=now, expires_at=expires, used_at=None
        )
    )
    session.flush()
    return nonce, challenge_bytes(nonce, origin[:200], expires)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def consume(*, session: Session, nonce: str, now: dt.datetime | None = None) -> tuple[SignInChallenge, bytes]:
    """Take a challenge back once: mark it used and return it with its bytes; raise ChallengeUnknown,
    ChallengeUsed or ChallengeExpired. The row is locked (PostgreSQL) so two requests cannot both use it."""
    now = now or clock.now()
    if not nonce or len(nonce) > 100:
        raise ChallengeUnknown()
    row = session.scalar(
        select(SignInChallenge).where(SignInChallenge.nonce_sha256 == _digest(nonce)).with_for_update()
    )
    if row is None:
        raise ChallengeUnknown()
    if row.used_at is not None:
        raise ChallengeUsed()
    row.used_at = now
    session.flush()
    if _aware(row.expires_at) < now:
        row.outcome = ChallengeExpired.code
        raise ChallengeExpired()
    return row, challenge_bytes(nonce, row.origin, _aware(row.expires_at))


def settle(row: SignInChallenge, *, outcome: str, account_id: int | None = None) -> None:
    """Record how a used challenge ended: ``signed_in`` (with the account) or the refusal's code."""
    row.outcome = outcome[:64]
    row.account_id = account_id
