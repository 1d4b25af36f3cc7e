"""The canonical forms are RFC 8785 JSON and bind what they claim to."""

from __future__ import annotations

import json

import pytest

from emhana.medbook.rules import canonical_bytes
from emhana.trust.signatures import canonical

ENTRY = {
    "type": canonical.ENTRY,
    "book": 7,
    "person_iin": "900101300017",
    "kind": "lab_result",
    "result_text": 'Қ\u2028"é" — \U0001f600\n',
    "codes": ["A01", "Z11"],
    "valid_until": None,
    "recorded_at": "2026-03-10T05:00:00+00:00",
    "supersedes": None,
    "caused_by": 3,
    "€": True,
    "z": 10,
}


def test_jcs_sorts_keys_by_utf16_and_has_no_whitespace() -> None:
    # U+1F600 is the surrogate pair D83D DE00 in UTF-16: it sorts before U+FF21 (Python's order puts it after).
    assert (
        canonical.jcs({"b": 1, "a": [True, None, "x"], "\uff21": 1, "\U0001f600": 2})
        == '{"a":[true,null,"x"],"b":1,"\U0001f600":2,"\uff21":1}'.encode()
    )
    assert canonical.jcs({"n": 1.0, "m": 1e21}) == b'{"m":1e+21,"n":1}'


def test_a_medbook_entry_signs_exactly_the_bytes_medbook_stores() -> None:
    stored = canonical_bytes(ENTRY)
    assert canonical.entry_form(stored) == stored
    assert json.loads(canonical.entry_form(stored)) == ENTRY


def test_a_correction_binds_the_hash_of_what_it_corrects() -> None:
    old = canonical_bytes(ENTRY)
    new = canonical_bytes({**ENTRY, "supersedes": 11, "reason": "опечатка", "result_text": "норма"})
    form = json.loads(canonical.correction_form(new, old))
    assert form["type"] == canonical.CORRECTION and form["entry"]["reason"] == "опечатка"
    assert form["supersedes_sha256"] == canonical.sha256_hex(old)
    assert canonical.correction_form(new, old) != canonical.correction_form(new, old + b" ")


def test_a_notification_form_names_the_pdf_and_facts() -> None:
    form = canonical.notification_form(
        number="N-1",
        application_id=5,
        kind="attachment",
        language="kk",
        issued_at="2026-03-10T10:00:00+05:00",
        content={"iin_masked": "9001****0017", "district": "3"},
        pdf_sha256="ab" * 32,
    )
    assert form.startswith(b'{"application":5,"content":{"district":"3","iin_masked":"9001****0017"}')
    assert json.loads(form)["type"] == canonical.NOTIFICATION


def test_only_entry_documents_are_read_as_entries() -> None:
    with pytest.raises(ValueError):
        canonical.entry_form(b'{"type":"something else"}')
