"""The infection rules as data (C-30): the diagnoses (ICD-10) and carrier states that bar work in decreed groups
while active. The packaged seed (``data/infection_rules.json``, unverified), the rules in force on a day, the
Fund's additions and endings (a rule is never edited in place, every change audited), and what the journal asks
of them: are a diagnosis entry's codes acceptable, does it bar this worker's work, and what is its name.

Functions are keyword-only where they are use cases, take the session and the actor, and never commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.identity.schemas import Strict
from emhana.kernel.errors import (
    ClinicalStatusNotAllowed,
    DiagnosisBarsWork,
    DiagnosisCodeInvalid,
    DiagnosisIncomplete,
    InfectionRuleInvalid,
    InfectionRuleNotFound,
)
from emhana.kernel.i18n import LANGUAGES, N_, Localized, gettext_for
from emhana.medbook import diagnoses
from emhana.medbook.catalogue import group_names
from emhana.medbook.diagnoses import Diagnosis, RuleKind, standing_bar
from emhana.medbook.labels import kind_label
from emhana.medbook.models import DecreedGroup, Employment, JournalEntry, MedicalBook
from emhana.medbook.models import InfectionRule as RuleRow
from emhana.medbook.rules import EntryKind
from emhana.medbook.schemas import EntryIn
from emhana.medbook.service import current_entries

DATA = Path(__file__).parent / "data" / "infection_rules.json"
ICD10_DATA = Path(__file__).parent / "data" / "icd10_infectious.json"
DIAGNOSIS_KINDS = frozenset({EntryKind.SPECIALIST_DIAGNOSIS, EntryKind.PAST_INFECTION})
REASON_UNKNOWN_GROUP = N_("the decreed group {group} is not in the catalogue")
REASON_ENDED = N_("the rule has already ended")
REASON_END_BEFORE = N_("a rule cannot end before it takes effect")
REASON_NOT_AFTER = N_("a new version of a rule must take effect after the version in force")


class InfectionRuleIn(Strict):
    """The Fund's new rule (or a new version of a rule in force, which then ends where this one begins)."""

    code: str = Field(min_length=3, max_length=16)
    kind: RuleKind
    name_kk: str = Field(min_length=1, max_length=300)
    name_ru: str = Field(min_length=1, max_length=300)
    name_en: str = Field(min_length=1, max_length=300)
    groups: list[str] = Field(default_factory=list, max_length=50)
    source: str = Field(default="", max_length=2000)
    verified: bool = False
    valid_from: dt.date


class EndRuleIn(Strict):
    valid_to: dt.date


class InfectionRuleOut(BaseModel):
    id: int
    code: str
    kind: RuleKind
    name_kk: str
    name_ru: str
    name_en: str
    groups: list[str]
    source: str
    verified: bool
    valid_from: dt.date
    valid_to: dt.date | None
    in_force: bool


def _localized(msgid: str, **params: str) -> Localized:
    return Localized({lang: gettext_for(lang, msgid).format(**params) for lang in LANGUAGES})


@cache
def _packaged() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


@cache
def known_codes() -> diagnoses.Known:
    """Return the ICD-10 categories we can check (``data/icd10_infectious.json``)."""
    with ICD10_DATA.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return diagnoses.Known(
        letters=frozenset(data["checked_letters"]),
        categories=frozenset(data["categories"]),
        subcategories={k: frozenset(v) for k, v in data["subcategories"].items()},
    )


def default_rule_rows() -> list[dict[str, Any]]:
    """Return the packaged rules as table rows (in force from the packaged date, open-ended)."""
    data = _packaged()
    since = dt.date.fromisoformat(data["valid_from"])
    return [
        {
            "code": r["code"],
            "kind": r["kind"],
            "name_kk": r["name_kk"],
            "name_ru": r["name_ru"],
            "name_en": r["name_en"],
            "groups": list(r["groups"]),
            "source": r["source"],
            "verified": bool(r["verified"]),
            "valid_from": since,
            "valid_to": None,
        }
        for r in data["rules"]
    ]


def seed_infection_rules(session: Session) -> None:
    """Insert the packaged rules that are not in the table yet (tests and fresh databases)."""
    known = {(code, since) for code, since in session.execute(select(RuleRow.code, RuleRow.valid_from))}
    for row in default_rule_rows():
        if (row["code"], row["valid_from"]) not in known:
            session.add(RuleRow(**row))
    session.flush()


def _in_force(day: dt.date):  # type: ignore[no-untyped-def]
    return RuleRow.valid_from <= day, or_(RuleRow.valid_to.is_(None), RuleRow.valid_to > day)


def rules_on(*, session: Session, day: dt.date) -> list[diagnoses.InfectionRule]:
    """Return the rules in force on a day as the pure rule sees them."""
    rows = session.scalars(select(RuleRow).where(*_in_force(day)).order_by(RuleRow.code, RuleRow.id))
    return [pure(r) for r in rows]


def pure(row: RuleRow) -> diagnoses.InfectionRule:
    return diagnoses.InfectionRule(
        code=row.code,
        kind=RuleKind(row.kind),
        names={"kk": row.name_kk, "ru": row.name_ru, "en": row.name_en},
        groups=tuple(row.groups or ()),
    )


def out(row: RuleRow, day: dt.date) -> InfectionRuleOut:
    return InfectionRuleOut(
        id=row.id,
        code=row.code,
        kind=RuleKind(row.kind),
        name_kk=row.name_kk,
        name_ru=row.name_ru,
        name_en=row.name_en,
        groups=list(row.groups or ()),
        source=row.source,
        verified=row.verified,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        in_force=row.valid_from <= day and (row.valid_to is None or row.valid_to > day),
    )


def listing(*, session: Session, day: dt.date, ended: bool = True) -> list[InfectionRuleOut]:
    """Return the rules by code, each version oldest first; without ``ended``, only those in force on the day."""
    query = select(RuleRow).order_by(RuleRow.code, RuleRow.valid_from)
    if not ended:
        query = query.where(*_in_force(day))
    return [out(r, day) for r in session.scalars(query)]


def _group_codes(session: Session) -> set[str]:
    return set(session.scalars(select(DecreedGroup.code).distinct())) | set(group_names())


def add_rule(*, session: Session, actor: Actor, data: InfectionRuleIn, now: dt.datetime) -> RuleRow:
    """Add the Fund's rule; a rule of the same code in force then ends where the new one begins (C-30)."""
    code = diagnoses.normalize(data.code)
    problem = diagnoses.rule_code_problem(code, known_codes())
    if problem is not None:
        raise InfectionRuleInvalid(reason=_localized(problem))
    known = _group_codes(session)
    for group in data.groups:
        if group not in known:
            raise InfectionRuleInvalid(reason=_localized(REASON_UNKNOWN_GROUP, group=group))
    current = session.scalar(
        select(RuleRow).where(RuleRow.code == code, RuleRow.valid_to.is_(None)).order_by(RuleRow.valid_from.desc())
    )
    if current is not None:
        if data.valid_from <= current.valid_from:
            raise InfectionRuleInvalid(reason=_localized(REASON_NOT_AFTER))
        current.valid_to = data.valid_from
    row = RuleRow(
        code=code,
        kind=data.kind.value,
        name_kk=data.name_kk.strip(),
        name_ru=data.name_ru.strip(),
        name_en=data.name_en.strip(),
        groups=sorted(set(data.groups)),
        source=data.source.strip(),
        verified=data.verified,
        valid_from=data.valid_from,
        valid_to=None,
        created_by=actor.account_id,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.infection_rule_added",
        object_type="medbook_infection_rule",
        object_id=str(row.id),
        purpose=f"{row.code} from {row.valid_from.isoformat()}",
        now=now,
    )
    return row


def end_rule(*, session: Session, actor: Actor, rule_id: int, data: EndRuleIn, now: dt.datetime) -> RuleRow:
    """End a rule on a day (it no longer bars work from that day); an ended rule is not ended again."""
    row = session.get(RuleRow, rule_id)
    if row is None:
        raise InfectionRuleNotFound()
    if row.valid_to is not None:
        raise InfectionRuleInvalid(reason=_localized(REASON_ENDED))
    if data.valid_to <= row.valid_from:
        raise InfectionRuleInvalid(reason=_localized(REASON_END_BEFORE))
    row.valid_to = data.valid_to
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.infection_rule_ended",
        object_type="medbook_infection_rule",
        object_id=str(row.id),
        purpose=f"{row.code} to {row.valid_to.isoformat()}",
        now=now,
    )
    return row


def book_groups(session: Session, book: MedicalBook, day: dt.date) -> set[str]:
    """Return the decreed groups a book's owner works in on a day: the book's own and every current job's."""
    jobs = session.scalars(
        select(Employment.group_code).where(
            Employment.book_id == book.id,
            Employment.valid_from <= day,
            or_(Employment.valid_to.is_(None), Employment.valid_to >= day),
        )
    )
    return {book.group_code, *jobs}


def checked_codes(codes: Iterable[str]) -> list[str]:
    """Return a diagnosis's ICD-10 codes as ICD-10 writes them, or raise DiagnosisCodeInvalid for the first bad one."""
    out_codes = []
    for code in codes:
        problem = diagnoses.code_problem(code, known_codes())
        if problem is not None:
            raise DiagnosisCodeInvalid(code=code.strip()[:40], reason=_localized(problem))
        out_codes.append(diagnoses.normalize(code))
    return list(dict.fromkeys(out_codes))


def barring(
    session: Session, book: MedicalBook, codes: Iterable[str], status: str | None, day: dt.date
) -> tuple[str, diagnoses.InfectionRule] | None:
    """Return the code and rule by which a diagnosis bars this book's owner from work on a day, or None (C-30)."""
    if status != diagnoses.ClinicalStatus.ACTIVE:
        return None
    return diagnoses.first_barring(rules_on(session=session, day=day), codes, status, book_groups(session, book, day))


def bars(session: Session, book: MedicalBook, entry: JournalEntry, day: dt.date) -> bool:
    """Tell whether an entry is an active diagnosis that a rule in force bars in any of the owner's groups (C-30)."""
    if entry.clinical_status is None:
        return False
    codes = entry.codes.split(",") if entry.codes else []
    return barring(session, book, codes, entry.clinical_status, day) is not None


def diagnosis_of(data: EntryIn) -> tuple[list[str], str | None]:
    """Return an entry's codes and clinical status: a diagnosis needs well-formed, known ICD-10 codes and its
    status (C-12, C-30); any other kind keeps its codes and has no status."""
    if EntryKind(data.kind.value) not in DIAGNOSIS_KINDS:
        if data.clinical_status is not None:
            raise ClinicalStatusNotAllowed(kind=kind_label(data.kind.value))
        return list(data.codes), None
    if not data.codes or data.clinical_status is None:
        raise DiagnosisIncomplete()
    return checked_codes(data.codes), data.clinical_status.value


def refuse_if_barred(session: Session, book: MedicalBook, day: dt.date) -> None:
    """Refuse a grant while an active diagnosis bars the owner's work and no later resolved one ended it (C-30)."""
    found = [
        Diagnosis(
            codes=tuple(e.codes.split(",")) if e.codes else (),
            status=e.clinical_status,
            performed_on=e.performed_on,
            order=e.id,
        )
        for e in current_entries(session=session, book_id=book.id)
        if e.clinical_status is not None
    ]
    hit = standing_bar(rules_on(session=session, day=day), found, book_groups(session, book, day))
    if hit is not None:
        code, rule = hit
        raise DiagnosisBarsWork(diagnosis=Localized(dict(rule.names)), code=code)


def diagnosis_label(rules: Iterable[diagnoses.InfectionRule], code: str) -> Localized:
    """Return a diagnosis's name in every language: its rule's name with the code, or the code alone."""
    found = next((r for r in rules if diagnoses.covers(r.code, code)), None)
    if found is None:
        return Localized(dict.fromkeys(LANGUAGES, code))
    return Localized({lang: f"{found.names.get(lang) or found.names['en']} ({code})" for lang in LANGUAGES})
