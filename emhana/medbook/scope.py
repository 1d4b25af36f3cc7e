"""The examination scope a work clearance needs (C-20, C-21, C-53, C-54): the rules of the worker's decreed groups in
force, united (two jobs), the occasion of the examination (the organization's open examination at hiring, else
periodic), the worker's age on the day, and the names of required items with the unverified ones marked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.identity.models import Person
from emhana.kernel.i18n import LANGUAGES, N_, Localized, gettext_for, translate
from emhana.medbook import access, catalogue
from emhana.medbook.labels import items_label as base_label
from emhana.medbook.models import MedicalBook
from emhana.medbook.rules import GroupRule, Occasion, age_on, rule_for_groups
from emhana.medbook.service import recording_entity

UNVERIFIED_ALL = N_("requirements not verified")
UNVERIFIED_SOME = N_("not verified: {items}")


def rule_for_book(session: Session, *, codes: Sequence[str], day: dt.date) -> GroupRule:
    """Return the united rule of the decreed groups in force on a day (raises GroupNotFound for one that is
    not, e.g. the closed 2015 scope)."""
    return rule_for_groups([catalogue.rule_of(catalogue.in_force(session=session, code=c, day=day)) for c in codes])


def occasion_of(session: Session, *, book: MedicalBook, actor: Actor, day: dt.date) -> Occasion:
    """Return the occasion of the clearance: at hiring when the actor's organization has the book's
    examination at hiring open on the day (C-53), else periodic (an examination by indication included)."""
    exam = access.open_examination(session=session, book_id=book.id, entity_id=recording_entity(actor, book), day=day)
    return Occasion.AT_HIRING if exam is not None and exam.kind == Occasion.AT_HIRING.value else Occasion.PERIODIC


def age_of(person: Person | None, day: dt.date) -> int | None:
    """Return the worker's age in full years on the day (None when unknown: every age-bound item applies)."""
    return age_on(person.birth_date if person else None, day)


def items_label(codes: Sequence[str], group: GroupRule) -> Localized:
    """Return the names of required items in every language, then which of them the catalogue has not verified
    (C-52): "A, B (requirements not verified)" or "A, B (not verified: B)"."""
    names = base_label(codes)
    unverified = {r.code for r in group.requirements if not r.verified}
    marked = [c for c in codes if c in unverified]
    if not marked:
        return names
    some = base_label(marked)
    texts = {}
    for lang in LANGUAGES:
        note = (
            gettext_for(lang, UNVERIFIED_ALL)
            if len(marked) == len(codes)
            else translate(lang, UNVERIFIED_SOME, {"items": some})
        )
        texts[lang] = f"{names.in_language(lang)} ({note})"
    return Localized(texts)
