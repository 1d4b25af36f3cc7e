"""The dead-letter queue: every refused bundle is kept (its exact bytes) with one letter per problem, listed
for operators, replayable after the mapping or the data is fixed; and the sync status (lag and counts).

Nothing is dropped silently: a refused request is rolled back as a whole and only then is the refusal
recorded, in the request's next transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, actor_of
from emhana.audit.service import record_event
from emhana.fhir.inbound import Accepted, Finding, Rejected, ingest
from emhana.fhir.models import DeadLetter, InboundBundle, InboundResource
from emhana.fhir.signature import Trust
from emhana.kernel.errors import Forbidden, NotFound


def _letters(bundle: InboundBundle, findings: list[Finding], now: dt.datetime) -> list[DeadLetter]:
    return [
        DeadLetter(
            bundle_id=bundle.id,
            position=f.position,
            resource_type=f.resource_type[:32],
            resource_id=f.resource_id[:64],
            code=f.issue.emhana_code,
            reason=f.issue.english(),
            expression=", ".join(f.issue.expression)[:300],
            created_at=now,
        )
        for f in findings
    ]


def record_rejection(
    *, session: Session, actor: Actor, body: bytes, rejected: Rejected, now: dt.datetime
) -> tuple[InboundBundle, list[DeadLetter]]:
    """Keep a refused bundle and one dead letter per finding, in the findings' order (call after the refused writes
    were rolled back); return them, so that the refusal names its letters."""
    bundle = InboundBundle(
        account_id=actor.account_id,
        entity_id=actor.entity_id,
        received_at=now,
        sha256=hashlib.sha256(body).hexdigest(),
        body=body,
        state="rejected",
        last_attempt_at=now,
        attempts=1,
    )
    session.add(bundle)
    session.flush()
    letters = _letters(bundle, rejected.findings, now)
    session.add_all(letters)
    session.flush()
    return bundle, letters


def _scope(actor: Actor) -> int | None:
    """Return the entity an operator is limited to (None: the Fund sees every MIS)."""
    if actor.role is Role.FUND_ADMIN:
        return None
    if actor.entity_id is None:
        raise Forbidden()
    return actor.entity_id


@dataclass(frozen=True)
class LetterView:
    letter: DeadLetter
    bundle: InboundBundle


def list_letters(
    *, session: Session, actor: Actor, include_resolved: bool = False, limit: int = 100, offset: int = 0
) -> tuple[int, list[LetterView]]:
    """Return the count and a page of dead letters the operator may see, oldest first."""
    query = select(DeadLetter, InboundBundle).join(InboundBundle, InboundBundle.id == DeadLetter.bundle_id)
    entity = _scope(actor)
    if entity is not None:
        query = query.where(InboundBundle.entity_id == entity)
    if not include_resolved:
        query = query.where(DeadLetter.resolved_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(DeadLetter.created_at, DeadLetter.id).limit(limit).offset(offset)).all()
    return total, [LetterView(letter, bundle) for letter, bundle in rows]


def _bundle_for(session: Session, actor: Actor, bundle_id: int) -> InboundBundle:
    bundle = session.get(InboundBundle, bundle_id)
    if bundle is None:
        raise NotFound()
    entity = _scope(actor)
    if entity is not None and bundle.entity_id != entity:
        raise NotFound()
    return bundle


def get_letter(*, session: Session, actor: Actor, letter_id: int) -> LetterView:
    """Return one dead letter the operator may see (another organization's is unknown: NotFound)."""
    letter = session.get(DeadLetter, letter_id)
    if letter is None:
        raise NotFound()
    return LetterView(letter, _bundle_for(session, actor, letter.bundle_id))


def replay(*, session: Session, actor: Actor, bundle_id: int, trust: Trust, now: dt.datetime) -> Accepted:
    """Run a refused bundle again as the MIS that sent it; on success its letters are resolved.

    The signature is checked as of the first receipt. On failure ``Rejected`` is raised; the caller rolls
    back and calls ``record_replay_failure``.
    """
    bundle = _bundle_for(session, actor, bundle_id)
    if bundle.state == "accepted":  # replayed already (a retry): nothing to do
        return Accepted(bundle.id, [], [])
    sender = session.get(Account, bundle.account_id)
    if sender is None:
        raise NotFound()
    bundle.attempts += 1
    accepted = ingest(
        session=session,
        actor=actor_of(sender),
        body=bundle.body,
        trust=trust,
        now=now,
        bundle=bundle,
        signed_at=bundle.received_at,
    )
    for letter in session.scalars(
        select(DeadLetter).where(DeadLetter.bundle_id == bundle.id, DeadLetter.resolved_at.is_(None))
    ):
        letter.resolved_at, letter.resolution = now, "replayed"
    record_event(
        session=session,
        actor=actor,
        action="fhir.replay",
        object_type="fhir_bundle",
        object_id=str(bundle.id),
        purpose="replayed",
        now=now,
    )
    return accepted


def record_replay_failure(
    *, session: Session, actor: Actor, bundle_id: int, rejected: Rejected, now: dt.datetime
) -> None:
    """After a failed replay was rolled back: count the attempt and replace the open letters by the new ones."""
    bundle = _bundle_for(session, actor, bundle_id)
    bundle.attempts += 1
    bundle.last_attempt_at = now
    for letter in session.scalars(
        select(DeadLetter).where(DeadLetter.bundle_id == bundle.id, DeadLetter.resolved_at.is_(None))
    ):
        session.delete(letter)
    session.flush()
    session.add_all(_letters(bundle, rejected.findings, now))
    record_event(
        session=session,
        actor=actor,
        action="fhir.replay",
        object_type="fhir_bundle",
        object_id=str(bundle.id),
        purpose="failed again",
        now=now,
    )
    session.flush()


def discard(*, session: Session, actor: Actor, bundle_id: int, now: dt.datetime) -> int:
    """Close a refused bundle's open letters without replaying it (the operator decided it is not wanted)."""
    bundle = _bundle_for(session, actor, bundle_id)
    count = 0
    for letter in session.scalars(
        select(DeadLetter).where(DeadLetter.bundle_id == bundle.id, DeadLetter.resolved_at.is_(None))
    ):
        letter.resolved_at, letter.resolution = now, "discarded"
        count += 1
    record_event(
        session=session,
        actor=actor,
        action="fhir.discard",
        object_type="fhir_bundle",
        object_id=str(bundle.id),
        purpose=f"{count} letters",
        now=now,
    )
    return count


@dataclass(frozen=True)
class SyncStatus:
    bundles_accepted: int
    bundles_rejected: int
    resources_ingested: int
    open_dead_letters: int
    resolved_dead_letters: int
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    oldest_open_failure_at: dt.datetime | None
    lag_seconds: float | None


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(tzinfo=dt.UTC) if moment is not None and moment.tzinfo is None else moment


def status(*, session: Session, actor: Actor, now: dt.datetime) -> SyncStatus:
    """Return counts, the last success and the lag: the age of the oldest open failure, else 0."""
    entity = _scope(actor)
    bundles = select(InboundBundle)
    if entity is not None:
        bundles = bundles.where(InboundBundle.entity_id == entity)
    b = bundles.subquery()

    def count(state: str) -> int:
        return session.scalar(select(func.count()).select_from(b).where(b.c.state == state)) or 0

    letters = select(DeadLetter).join(b, b.c.id == DeadLetter.bundle_id).subquery()
    open_count = session.scalar(select(func.count()).select_from(letters).where(letters.c.resolved_at.is_(None))) or 0
    resolved = session.scalar(select(func.count()).select_from(letters).where(letters.c.resolved_at.is_not(None))) or 0
    ingested = (
        session.scalar(select(func.count()).select_from(InboundResource).join(b, b.c.id == InboundResource.bundle_id))
        or 0
    )
    last_success = _aware(session.scalar(select(func.max(b.c.accepted_at))))
    last_failure = _aware(session.scalar(select(func.max(letters.c.created_at))))
    oldest_open = _aware(session.scalar(select(func.min(letters.c.created_at)).where(letters.c.resolved_at.is_(None))))
    lag = (now - oldest_open).total_seconds() if oldest_open else (0.0 if last_success else None)
    return SyncStatus(
        bundles_accepted=count("accepted"),
        bundles_rejected=count("rejected"),
        resources_ingested=ingested,
        open_dead_letters=open_count,
        resolved_dead_letters=resolved,
        last_success_at=last_success,
        last_failure_at=last_failure,
        oldest_open_failure_at=oldest_open,
        lag_seconds=lag,
    )
