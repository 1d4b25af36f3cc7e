"""Shared keys, certificates and trust contexts of the trust tests (made once per session: key generation is slow)."""

from __future__ import annotations

import pytest

from tests.builders.seals import Scheme, make_scheme


@pytest.fixture(scope="session")
def scheme() -> Scheme:
    """A scheme CA, two facility signers and the trust context of a list that holds both."""
    return make_scheme()
