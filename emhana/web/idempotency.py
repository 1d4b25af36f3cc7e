"""The door side of idempotency keys: the one Idempotency-Key header every writing POST of the JSON API
declares, and running a write once with its stored JSON answer (emhana/audit/idempotency.py says how a
parallel retry waits and replays). tests/api/test_idempotency_everywhere.py fails when a writing POST does
not take the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.idempotency import MAX_KEY_LENGTH, run_once

IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=MAX_KEY_LENGTH,
        description="A client-chosen key: a retry with the same key and request gets the first answer, "
        "a retry while the first still runs waits for it (409 core.idempotency_in_progress if it takes too long), "
        "the same key for another request is refused (422 core.idempotency_mismatch).",
    ),
]


def idempotent_json(
    *, session: Session, actor: Actor, key: str | None, payload: Any, run: Callable[[], tuple[int, dict[str, Any]]]
) -> JSONResponse:
    """Run a write once per Idempotency-Key and return its (first) answer as JSON."""
    status, body = run_once(session=session, actor=actor, key=key, payload=payload, run=run)
    return JSONResponse(body, status_code=status)


def idempotent_no_content(
    *, session: Session, actor: Actor, key: str | None, payload: Any, run: Callable[[], None]
) -> Response:
    """Run a write that answers 204 once per Idempotency-Key; a retry answers 204 again and writes nothing."""

    def write() -> tuple[int, dict[str, Any]]:
        run()
        return 204, {}

    run_once(session=session, actor=actor, key=key, payload=payload, run=write)
    return Response(status_code=204)
