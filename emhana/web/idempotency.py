"""The door side of idempotency keys: run a write once and answer with its stored JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.idempotency import run_once


def idempotent_json(
    *, session: Session, actor: Actor, key: str | None, payload: Any, run: Callable[[], tuple[int, dict[str, Any]]]
) -> JSONResponse:
    """Run a write once per Idempotency-Key and return its (first) answer as JSON."""
    status, body = run_once(session=session, actor=actor, key=key, payload=payload, run=run)
    return JSONResponse(body, status_code=status)
