"""The outbox rows of an approval (A-54, A-100, A-06) written as Core statements on the hot path.

The same messages as emhana.attachment.notice.events.application_decided and transfer_out (same template,
parameters, language, channel and dedupe key; tests/attachment/test_fast_path.py compares them),
built from the facts the decision has already read (the contacts come with the target and the history)
instead of reading them again through the ORM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from emhana.attachment.facts import Period, PersonRow, Target
from emhana.attachment.notice.templates import Template
from emhana.notify.outbox import RecipientKind, enqueue_many, mask_iin, row_values


def _row(
    kind: RecipientKind,
    recipient_id: int,
    contact: tuple[str | None, str | None] | None,
    template: str,
    params: dict[str, Any],
    dedupe_key: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Return one outbox row in the shape emhana.notify.outbox gives every message (``row_values``, also behind
    ``enqueue``); no contact row reads as (None, None)."""
    language, email = contact if contact is not None else (None, None)
    return row_values(
        kind=kind,
        recipient_id=recipient_id,
        language=language,
        email=email,
        template=template,
        params=params,
        dedupe_key=dedupe_key,
        now=now,
    )


def approved(
    session: Session,
    *,
    application_id: int,
    filed_on: dt.date,
    applicant_id: int,
    person: PersonRow,
    target: Target,
    begin: dt.date,
    lost: Period | None,
    now: dt.datetime,
) -> None:
    """Queue the approval to the applicant and, on a transfer between organizations, the notice to the
    organization that loses the person (A-06); a message already queued under its key is not queued again."""
    transfer = lost is not None and lost.entity_id != target.entity_id
    contact = (target.applicant_language, target.applicant_email)
    kk = contact is not None and contact[0] == "kk"
    rows = [
        _row(
            RecipientKind.PERSON,
            applicant_id,
            contact,
            Template.APPROVED,
            {
                "application_id": application_id,
                "number": f"{filed_on.year}-{application_id:08d}",
                "begin": begin,
                "entity": target.entity_name_kk if kk else target.entity_name_ru,
                "site": target.site_name_kk if kk else target.site_name_ru,
                "address": target.address_kk if kk else target.address_ru,
                "district": target.number,
            },
            f"application:{application_id}:approved:person:{applicant_id}",
            now,
        )
    ]
    if transfer and lost is not None:
        rows.append(
            _row(
                RecipientKind.ENTITY,
                lost.entity_id,
                (lost.entity_language, lost.entity_email),
                Template.TRANSFER_OUT,
                {
                    "attachment_id": lost.id,
                    "person_id": person.id,
                    "person": person.full_name,
                    "birth_date": person.birth_date,
                    "iin_tail": mask_iin(person.iin),
                    "begin": begin,
                },
                f"attachment:{lost.id}:transfer_out:entity:{lost.entity_id}",
                now,
            )
        )
    enqueue_many(session, rows)
