"""Base45 (RFC 9285): the RFC's examples, strict decoding, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emhana.trust.seals import base45


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff\xff", "FGW"),
    ],
)
def test_rfc_9285_examples(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@pytest.mark.parametrize("text", ["GGW", "ab", "A", "BB8B", "BB8\n", "%69 VD92EX0Ж", "ZZ", ":::"])
def test_invalid_texts_are_refused(text: str) -> None:
    with pytest.raises(base45.Base45Error):
        base45.decode(text)


@given(st.binary(max_size=300))
def test_round_trip(data: bytes) -> None:
    assert base45.decode(base45.encode(data)) == data


@given(st.text(max_size=60))
def test_decode_either_returns_bytes_or_raises_base45_error(text: str) -> None:
    try:
        data = base45.decode(text)
    except base45.Base45Error:
        return
    assert base45.encode(data) == text
