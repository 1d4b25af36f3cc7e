"""Base45 (RFC 9285), the QR-alphanumeric-safe text encoding of HC1 and KZMB1 seals; strict on decode."""

from __future__ import annotations

import functools
import struct

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
# A translation table from ASCII byte to digit value; every byte outside the alphabet maps to 0xFF.
_DECODE = bytes(ALPHABET.index(chr(b)) if chr(b) in ALPHABET else _INVALID for b in range(256))
_ENCODE = ALPHABET.encode("ascii")


@functools.lru_cache(maxsize=64)
def _low_bytes(triples: int) -> int:
    """Return the integer whose little-endian bytes are FF 00 00 once per triple: the first digit of each."""
    return int.from_bytes(b"\xff\x00\x00" * triples, "little")


class Base45Error(ValueError):
    """The text is not valid base45 (RFC 9285 §4.4: reject, never repair)."""


def encode(data: bytes) -> str:
    """Return the base45 text of some bytes."""
    out = bytearray()
    even = len(data) - len(data) % 2
    for (n,) in struct.iter_unpack(">H", data[:even]):
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += bytes((_ENCODE[c], _ENCODE[d], _ENCODE[e]))
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += bytes((_ENCODE[c], _ENCODE[d]))
    return out.decode("ascii")


def decode(text: str) -> bytes:
    """Return the bytes of a base45 text; raise Base45Error on a bad character, length or value."""
    if not text.isascii():
        raise Base45Error("non-ASCII character")
    values = text.encode("ascii").translate(_DECODE)
    if _INVALID in values:
        raise Base45Error("character outside the base45 alphabet")
    rest = len(values) % 3
    if rest == 1:
        raise Base45Error("length leaves a single character")
    triples = len(values) // 3
    full = 3 * triples
    # Every triple c d e becomes the word c + 45d + 2025e (RFC 9285 §4) in one big-integer sum over 3-byte lanes:
    # read as one little-endian integer, the triples' digits sit in bytes 0, 1 and 2 of their lane, and a word is
    # at most 91,124 < 2**24, so no lane carries into the next. A Python loop over the ~125 triples of a seal cost
    # a tenth of its verification (issue 18).
    lanes = int.from_bytes(values[:full], "little")
    low = _low_bytes(triples)
    sums = (lanes & low) + 45 * ((lanes >> 8) & low) + 2025 * ((lanes >> 16) & low)
    words = sums.to_bytes(full, "little")
    # RFC 9285 §4.4: a triple above 65535 or a final pair above 255 is an invalid encoding.
    if words[2::3].count(0) != triples:
        raise Base45Error("a triple exceeds 65535")
    out = bytearray(2 * triples + rest // 2)
    out[0 : 2 * triples : 2] = words[1::3]  # big-endian: the high byte of each word first
    out[1 : 2 * triples : 2] = words[0::3]
    if rest == 2:
        last = values[full] + values[full + 1] * 45
        if last > 0xFF:
            raise Base45Error("the final pair exceeds 255")
        out[-1] = last
    return bytes(out)
