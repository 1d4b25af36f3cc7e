"""The attachment test world (policies, entities, persons, a clock inside the 2025 campaign) and the medical-book
world for page tests."""

from tests.attachment.conftest import country, now, person  # noqa: F401  (fixtures)
from tests.medbook.conftest import at, world  # noqa: F401  (fixtures)
