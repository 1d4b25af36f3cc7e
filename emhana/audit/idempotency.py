"""Idempotency keys: a retried write with the same key replays the first answer and writes nothing.

The key is claimed before the write runs, inside the request's own transaction: the claim row is inserted
first (``INSERT … ON CONFLICT DO NOTHING``), the write runs, and the claim is completed with the answer
before the transaction commits. Two requests with one key therefore never both write:

- a retry that arrives after the first answer committed finds the completed row and replays it (same
  status, same body);
- a retry that arrives while the first is still running waits for it and then replays the first answer.
  PostgreSQL makes it wait on the row of the first one's uncommitted claim: if the first one does not finish
  within :data:`CLAIM_WAIT` seconds the retry is answered 409 ``core.idempotency_in_progress`` and a later
  retry gets the first answer (the IETF Idempotency-Key draft and Stripe answer a concurrent retry 409;
  waiting first spares the client that round trip in the common case of a fast write). SQLite makes it wait
  for the one write lock, which every write transaction takes at its start (emhana/kernel/db.py), up to the
  busy timeout;
- if the first one fails, its transaction rolls back with its claim, so a failed request leaves no key and
  the waiting retry runs the write itself;
- a key reused with a different request (another body, or the same body for another record) is refused
  422 ``core.idempotency_mismatch``.

Because the claim lives and dies with the transaction there is never a stale "in progress" key after a
crash. No schema change: a claimed row carries :data:`PENDING` as its status until the answer is known.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.models import IdempotencyRecord
from emhana.kernel import clock
from emhana.kernel.errors import IdempotencyInProgress, IdempotencyMismatch, InvalidInput

PENDING = 0
"""The status of a claimed key whose write has not answered yet (never visible outside its transaction)."""

CLAIM_WAIT = 20.0
"""Seconds a retry waits for the request that holds its key before it is told 409 "in progress"."""

MAX_KEY_LENGTH = 200


def fingerprint(payload: Any) -> str:
    """The SHA-256 of a request's canonical JSON: what a retry must repeat to be replayed."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def run_once(
    *, session: Session, actor: Actor, key: str | None, payload: Any, run: Callable[[], tuple[int, dict[str, Any]]]
) -> tuple[int, dict[str, Any]]:
    """Run a write once per (account, key): return (status, body), the first answer on a retry.

    ``payload`` must name everything that makes the request what it is (the body and the record the path
    names), so that the same key sent for another request is refused instead of replayed.
    """
    if key is None:
        return run()
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput()
    digest = fingerprint(payload)
    if not _claim(session, actor.account_id, key, digest):
        return _replay(session, actor.account_id, key, digest)
    status, body = run()
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.account_id == actor.account_id, IdempotencyRecord.key == key)
        .values(status_code=status, body=json.dumps(body, default=str))
        .execution_options(synchronize_session=False)
    )
    return status, body


def _claim(session: Session, account_id: int, key: str, digest: str) -> bool:
    """Insert the pending claim; False when the key was already answered (waiting for its holder first)."""
    dialect = session.get_bind().dialect.name
    insert_: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt: Insert = insert_(IdempotencyRecord).values(
        account_id=account_id, key=key, request_hash=digest, status_code=PENDING, body="", created_at=clock.now()
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["account_id", "key"])  # type: ignore[attr-defined]
    with _bounded_wait(session, dialect):
        try:
            claimed = session.execute(stmt.returning(IdempotencyRecord.id)).first()
        except OperationalError as exc:
            if _is_lock_timeout(exc):
                raise IdempotencyInProgress() from None
            raise
    return claimed is not None


def _replay(session: Session, account_id: int, key: str, digest: str) -> tuple[int, dict[str, Any]]:
    stored = session.execute(
        select(IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.body).where(
            IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key
        )
    ).first()
    if stored is None or stored.status_code == PENDING:  # the same key twice inside one transaction
        raise IdempotencyInProgress()
    if stored.request_hash != digest:
        raise IdempotencyMismatch()
    return stored.status_code, json.loads(stored.body)


@contextmanager
def _bounded_wait(session: Session, dialect: str) -> Iterator[None]:
    """Bound how long the claim waits for another transaction holding the same key (then 409).

    Only PostgreSQL waits here, on the row lock of the other's uncommitted claim. SQLite serializes write
    transactions from their first statement (``BEGIN IMMEDIATE``, emhana/kernel/db.py): a retry waits for
    the first request before it reads anything, up to the busy timeout, and then finds its answer."""
    if dialect != "postgresql":
        yield
        return
    before = session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": f"{max(1, int(CLAIM_WAIT * 1000))}ms"})
    yield  # on an error the transaction is lost anyway: nothing to restore
    session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": before})


def _is_lock_timeout(exc: OperationalError) -> bool:
    """PostgreSQL's lock_timeout expired (SQLSTATE 55P03 lock_not_available)."""
    return getattr(exc.orig, "sqlstate", None) == "55P03"
