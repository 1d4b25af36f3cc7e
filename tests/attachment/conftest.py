"""Fixtures of the attachment tests (the country, the clock and persons come from tests/builders/fixtures.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.builders.attachment import table_counts


@pytest.fixture
def counts(sessions: sessionmaker[Session]) -> Callable[[], tuple[int, ...]]:
    """Count the rows an application could write."""
    return lambda: table_counts(sessions)
