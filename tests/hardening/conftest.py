"""Fixtures of the hardening tests: the attachment test world (entities, districts, persons, a clock) and the
medical-book world, reused from their packages' tests."""

from __future__ import annotations

from tests.attachment.conftest import country, now, person  # noqa: F401  (fixtures reused here)
from tests.medbook.conftest import at, world  # noqa: F401
