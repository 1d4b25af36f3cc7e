"""A liveness probe: answers without touching the database (load balancers; the baseline of `emhana bench`)."""

from __future__ import annotations

from fastapi import APIRouter

from emhana.web.deps import public

router = APIRouter(tags=["health"])


@router.get("/ping", dependencies=[public()])
def ping() -> dict[str, bool]:
    """Return {"ok": true} while the process serves requests."""
    return {"ok": True}
