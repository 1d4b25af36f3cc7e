"""RFC 8785 (JSON Canonicalization Scheme) bytes of parsed JSON, fast: the standard library's C encoder where it
writes exactly what RFC 8785 asks, the ``rfc8785`` package's rules for what it does not.

The C encoder (``json.dumps`` with sorted keys, no whitespace, UTF-8) already writes RFC 8785 for strings (the
same escapes: ``\\"``, ``\\\\``, ``\\b``, ``\\f``, ``\\n``, ``\\r``, ``\\t``, other controls as lower-case
``\\u00xx``; everything else as itself), integers, booleans and null. It differs in three places, which a walk
over the value finds first:

* numbers with a fraction (floats): RFC 8785 writes ECMAScript's form (``1`` for 1.0, ``1e+21``), so each float
  is written by ``rfc8785`` itself and put in place of a marker string;
* object keys outside the Basic Multilingual Plane: RFC 8785 sorts keys by UTF-16 code units, Python by code
  points, which can order such keys otherwise; and integers past 2^53 - 1, which RFC 8785 refuses. Either
  sends the whole value to ``rfc8785`` (it then orders or refuses as the RFC says);
* a string holding U+0000 could be taken for a float's marker: such a value also goes to ``rfc8785`` whole.

Invalid Unicode (a lone surrogate) is refused as ``rfc8785`` refuses it (``rfc8785.CanonicalizationError``).
``tests/fhir/test_jcs.py`` checks the bytes against ``rfc8785.dumps`` on generated values.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

INT_MAX = 2**53 - 1
_MARK = "\x00{}\x00"  # a float's place in the encoder's output, as a JSON string: "\u0000<n>\u0000"
_MARKED = re.compile(r'"\\u0000(\d+)\\u0000"')


class _Slow(Exception):  # noqa: N818 (a signal, not an error)
    """The value needs the ``rfc8785`` package as a whole."""


def _marked(value: Any, floats: list[float]) -> Any:
    """Return the value with every float replaced by its marker (appended to ``floats``); raise _Slow where the
    C encoder would not write RFC 8785."""
    if isinstance(value, str):
        if "\x00" in value:
            raise _Slow
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or "\x00" in k or (not k.isascii() and any(ord(c) > 0xFFFF for c in k)):
                raise _Slow
            out[k] = _marked(v, floats)
        return out
    if isinstance(value, list | tuple):
        return [_marked(v, floats) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if not -INT_MAX <= value <= INT_MAX:
            raise _Slow
        return value
    if isinstance(value, float):
        floats.append(value)
        return _MARK.format(len(floats) - 1)
    raise _Slow  # a type JSON has not: rfc8785 refuses it


def dumps(value: Any) -> bytes:
    """Return the RFC 8785 bytes of a JSON value (dicts, lists, str, int, float, bool, None)."""
    floats: list[float] = []
    try:
        marked = _marked(value, floats)
    except _Slow:
        return rfc8785.dumps(value)
    text = json.dumps(marked, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if floats:
        text = _MARKED.sub(lambda m: rfc8785.dumps(floats[int(m.group(1))]).decode(), text)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: refused as rfc8785 refuses it
        return rfc8785.dumps(value)
