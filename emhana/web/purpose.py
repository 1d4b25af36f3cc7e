"""The stated purpose of a read of personal data, as every door takes it in a query (identity, attachment)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from emhana.identity.rules import PURPOSE_TEXT_MAX, ReadPurpose, purpose_label

PURPOSE_HELP = (
    "Why the person's data is read; required for a person outside your organization's population (not attached "
    "to it, no open application or medical book there). 'other' needs purpose_text."
)
PurposeQuery = Annotated[ReadPurpose | None, Query(description=PURPOSE_HELP)]
PurposeTextQuery = Annotated[str | None, Query(max_length=PURPOSE_TEXT_MAX, description="The purpose in words")]


def stated(purpose: ReadPurpose | None, text: str | None, fallback: str) -> str:
    """Return the purpose as logged: the one stated, else the door's own (enough inside the population only)."""
    return purpose_label(purpose.value, text) if purpose is not None else fallback
