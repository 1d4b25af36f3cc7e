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
def _masks(triples: int) -> tuple[int, int]:
    """Return the big-endian masks of the last byte and of the first byte of every 3-byte lane, once per length."""
    return int.from_bytes(b"\x00\x00\xff" * triples, "big"), int.from_bytes(b"\xff\x00\x00" * triples, "big")


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
    triples, rest = divmod(len(values), 3)
    if rest == 1:
        raise Base45Error("length leaves a single character")
    full = 3 * triples
    # Every triple c d e becomes the word c + 45d + 2025e (RFC 9285 §4), for all triples at once in one big integer
    # of 3-byte lanes: read big-endian, a triple's digits c, d, e are the high, middle and low byte of its lane, and
    # a word is at most 91,124 < 2**24, so no lane carries into the next. A Python loop over the ~125 triples of a
    # seal cost a tenth of its verification (issue 18).
    lanes = int.from_bytes(values[:full] if rest else values, "big")
    low, high = _masks(triples)
    words = ((lanes >> 16) & low) + 45 * ((lanes >> 8) & low) + 2025 * (lanes & low)
    # RFC 9285 §4.4: a triple above 65535 (a non-zero high byte in its lane) or a final pair above 255 is invalid.
    if words & high:
        raise Base45Error("a triple exceeds 65535")
    out = bytearray(words.to_bytes(full, "big"))
    del out[0::3]  # each lane is 0, then its word big-endian: drop the zero bytes
    if rest == 2:
        last = values[full] + values[full + 1] * 45
        if last > 0xFF:
            raise Base45Error("the final pair exceeds 255")
        out.append(last)
    return bytes(out)
