"""The canonical bytes a record signature covers: RFC 8785 (JCS) JSON, UTF-8, one form per record type.

Every form is a JSON object with a ``type`` naming the form and its version; numbers are integers only.

``emhana.medbook.entry/1`` — a journal entry (C-13), exactly the document medbook stores in
``medbook_entry.canonical``: ``book`` (id), ``person_iin``, ``entity_bin`` (issuing organization), ``kind``,
``item_code``, ``performed_on`` (ISO date), ``result``, ``result_text``, ``codes`` (list), ``clearance``,
``valid_until``, ``referral_entity_bin``, ``caused_by`` (entry id), ``supersedes`` (null), ``reason`` (null),
``author_account``, ``author_name``, ``source`` (manual | mis), ``recorded_at`` (ISO UTC time).

``emhana.medbook.correction/1`` — a correction (C-40, C-41): ``entry`` is the corrected version's entry
document above (its ``supersedes`` and ``reason`` set) and ``supersedes_sha256`` the SHA-256 (hex) of the
superseded entry's canonical bytes, so the signature binds the correction to exactly what it corrects.

``emhana.attachment.notification/1`` — an attachment notice or refusal (A-54): ``notice`` (number),
``application`` (id), ``kind`` (attachment | refusal), ``language``, ``issued_at`` (ISO time), ``content``
(the notice's facts as stored, no full IIN), ``pdf_sha256`` (hex SHA-256 of the PDF the person receives).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

ENTRY = "emhana.medbook.entry/1"
CORRECTION = "emhana.medbook.correction/1"
NOTIFICATION = "emhana.attachment.notification/1"


def jcs(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 JSON of a value."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of bytes as lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def entry_document(stored: bytes) -> dict[str, Any]:
    """Return the document of a stored journal entry's canonical bytes; raise ValueError if not an entry."""
    document = json.loads(stored.decode("utf-8"))
    if not isinstance(document, dict) or document.get("type") != ENTRY:
        raise ValueError("not a journal entry document")
    return document


def entry_form(stored: bytes) -> bytes:
    """Return the signed form of a journal entry that corrects nothing."""
    return jcs(entry_document(stored))


def correction_form(stored: bytes, superseded: bytes) -> bytes:
    """Return the signed form of a correction: its entry and the hash of the entry it supersedes (C-41)."""
    return jcs({"type": CORRECTION, "entry": entry_document(stored), "supersedes_sha256": sha256_hex(superseded)})


def notification_form(
    *,
    number: str,
    application_id: int,
    kind: str,
    language: str,
    issued_at: str,
    content: Mapping[str, Any],
    pdf_sha256: str,
) -> bytes:
    """Return the signed form of an attachment notice (A-54)."""
    return jcs(
        {
            "type": NOTIFICATION,
            "notice": number,
            "application": application_id,
            "kind": kind,
            "language": language,
            "issued_at": issued_at,
            "content": dict(content),
            "pdf_sha256": pdf_sha256,
        }
    )
