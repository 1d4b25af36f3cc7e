"""The decision's first lock reads whether *this* person has a sealed attachment notice (A-54): the seal check is
tied to the locked person, not to any person (an uncorrelated subquery would find anyone's sealed notice)."""

from __future__ import annotations

from emhana.attachment.application.decision import LOCK_PERSON


def test_the_seal_check_names_the_locked_person() -> None:
    sql = " ".join(str(LOCK_PERSON.stmt).split())
    assert "attachment_application.person_id = :person_id" in sql
    assert "WHERE person.id = :person_id" in sql
    assert sql.count("FROM person") == 1  # the subquery brings no person table of its own
