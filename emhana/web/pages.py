"""Server-rendered pages (placeholder until the web shell lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
