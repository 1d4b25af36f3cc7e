"""emhana.fhir.jcs writes exactly the bytes of ``rfc8785.dumps`` (and refuses what it refuses), faster."""

from __future__ import annotations

import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from emhana.fhir import jcs

KEYS = st.one_of(st.text(max_size=8), st.sampled_from(["a", "b", "é", "\U0001f600", "\ufb33", "\x00", "\ue000"]))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.sampled_from(["\x00", "\\u00001\\u0000", '"\\u00000\\u0000"', "\u2028", "\x7f", "\x1f"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=30,
)


def outcome(fn: Any, value: Any) -> bytes | type[Exception]:
    try:
        return bytes(fn(value))
    except rfc8785.CanonicalizationError as exc:  # refused: by the same rule
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_same_bytes_as_rfc8785(value: Any) -> None:
    expected = outcome(rfc8785.dumps, value)
    assert outcome(jcs.dumps, value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"valueQuantity": {"value": 5.0, "unit": "mmol/L"}, "n": [1e21, 1e-7, 0.1, -0.0, 123456789.125]},
        {"\U0001f600": 1, "\ufb33": 2, "a": 3.5},
        [2**53 - 1, -(2**53) + 1],
        {"s": 'tab\tquote"back\\slash\x01 \u2028 кириллица'},
    ],
)
def test_known_cases(value: Any) -> None:
    assert jcs.dumps(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [2**53, {"x": math.nan}, {"x": math.inf}, "\ud800", {1: 2}, {"x": object()}])
def test_refuses_what_rfc8785_refuses(value: Any) -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps(value)
    with pytest.raises(rfc8785.CanonicalizationError):
        jcs.dumps(value)
