"""Base45 (RFC 9285), the QR-alphanumeric-safe text encoding of HC1 and KZMB1 seals; strict on decode."""

from __future__ import annotations

import struct

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
# A translation table from ASCII byte to digit value; every byte outside the alphabet maps to 0xFF.
_DECODE = bytes(ALPHABET.index(chr(b)) if chr(b) in ALPHABET else _INVALID for b in range(256))
_ENCODE = ALPHABET.encode("ascii")


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
    full = len(values) - rest
    words = [
        c + d * 45 + e * 2025 for c, d, e in zip(values[0:full:3], values[1:full:3], values[2:full:3], strict=True)
    ]
    # RFC 9285 §4.4: a triple above 65535 or a final pair above 255 is an invalid encoding.
    if words and max(words) > 0xFFFF:
        raise Base45Error("a triple exceeds 65535")
    out = struct.pack(f">{len(words)}H", *words)
    if rest == 2:
        last = values[full] + values[full + 1] * 45
        if last > 0xFF:
            raise Base45Error("the final pair exceeds 255")
        out += bytes((last,))
    return out
