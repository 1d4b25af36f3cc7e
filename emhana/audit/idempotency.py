"""Idempotency keys: a retried write with the same key replays the first answer and writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.models import IdempotencyRecord
from emhana.kernel import clock
from emhana.kernel.errors import IdempotencyMismatch, InvalidInput


def run_once(
    *, session: Session, actor: Actor, key: str | None, payload: Any, run: Callable[[], tuple[int, dict[str, Any]]]
) -> tuple[int, dict[str, Any]]:
    """Run a write once per (account, key): return (status, body), the first answer on a retry.

    The record is written in the same transaction as the change, so a failed request leaves no key.
    """
    if key is None:
        return run()
    if not 1 <= len(key) <= 200:
        raise InvalidInput()
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    stored = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.account_id == actor.account_id, IdempotencyRecord.key == key)
    )
    if stored is not None:
        if stored.request_hash != digest:
            raise IdempotencyMismatch()
        return stored.status_code, json.loads(stored.body)
    status, body = run()
    session.add(
        IdempotencyRecord(
            account_id=actor.account_id,
            key=key,
            request_hash=digest,
            status_code=status,
            body=json.dumps(body, default=str),
            created_at=clock.now(),
        )
    )
    session.flush()
    return status, body
