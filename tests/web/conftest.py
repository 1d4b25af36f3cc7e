"""The attachment test world (policies, entities, persons, a clock inside the 2025 campaign) for page tests."""

from tests.attachment.conftest import country, now, person  # noqa: F401  (fixtures)
