"""Pure rules of the attachment campaign (docs/domain.md §1): plain facts in, a decision out, no I/O.

Each check returns the named RuleViolation it finds, or None; ``evaluate`` runs them in a fixed
order and returns approve, refuse (with the first violation) or needs_registrar (with the items a
registrar must verify). Dates are injected; nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from emhana.attachment.enums import (
    AtuLevel,
    Cause,
    ChangeReason,
    Channel,
    DocKind,
    Holder,
    Outcome,
    PlaceBasis,
    Review,
)
from emhana.facilities.rules import under_contract
from emhana.identity.schemas import DocumentKind as IdentityKind
from emhana.kernel import errors
from emhana.kernel.i18n import N_

ADULT_AGE = 18  # minors attach through a representative; students of 18+ attach themselves
ACTUAL_RESIDENCE_AGE = 5  # children under 5 are attached by actual residence
# D-22/D-23: cities of republican significance (Astana, Almaty, Shymkent) are one ATU whose
# city districts (the CD digits) people cross freely; elsewhere the ATU is the district or city of
# regional significance (AB + CD).
REPUBLICAN_CITIES = frozenset({"71", "75", "79"})


IDENTITY_KINDS = frozenset(k.value for k in IdentityKind)
# A-14 (H) and A-15 (M): these categories attach only with a medical insurance contract.
INSURED_CATEGORIES = frozenset({"eaeu_migrant", "temporary_foreigner"})

# Refusal grounds a registrar may give: the generic ones of A-70 and the rule-specific ones of A-71.
GENERIC_REFUSALS = {
    "attachment.documents_inaccurate": N_("The documents or data submitted are inaccurate."),
    "attachment.requirements_not_met": N_(
        "The applicant or the data do not meet the requirements of the attachment rules."
    ),
    "attachment.no_objection_denied": N_("The authorized body replied negatively to a required request."),
    "attachment.court_prohibition": N_("A court decision in force prohibits the activity concerned."),
    "attachment.court_deprivation": N_("A court decision in force deprives the applicant of the right concerned."),
}
RULE_REFUSALS: tuple[type[errors.RuleViolation], ...] = (
    errors.PersonDead,
    errors.RepresentativeRequired,
    errors.DocumentRequired,
    errors.DocumentExpired,
    errors.InsuranceRequired,
    errors.EntityNotParticipating,
    errors.CampaignClosed,
    errors.ReasonNotValid,
    errors.RelocationNotShown,
    errors.BasisNotAllowed,
    errors.AddressMissing,
    errors.AtuMismatch,
    errors.ProfileMismatch,
    errors.ChangeLimit,
    errors.CapacityExceeded,
    errors.ContractEndsBeforeEffect,
)
REFUSAL_REASONS: dict[str, str] = {**GENERIC_REFUSALS, **{c.code: c.message for c in RULE_REFUSALS}}


@dataclass(frozen=True)
class Policy:
    """The campaign policy of one year (A-30..A-34, A-41); every L rule is a field."""

    year: int
    window_start: dt.date
    window_end: dt.date
    effective_date: dt.date | None
    year_round: bool = False  # A-33 (draft)
    max_voluntary_changes_per_year: int = 1  # 1 or 2
    allow_work_basis: bool = True
    allow_study_basis_18plus: bool = True
    border_exception: bool = True
    children_under_5_actual_residence: bool = True
    pregnant_actual_residence: bool = True  # A-23 (M, per Astana akimat): pregnant women too
    care_at_home_by_applicant: bool = False  # A-26 (M): the applicant's choice stands without a registrar
    capacity_check: bool = True  # A-71 (L): over capacity is a refusal ground
    first_attachment_any_time: bool = True  # L: a person with no attachment may attach all year
    atu_level: AtuLevel = AtuLevel.DISTRICT  # D-23 (L)


@dataclass(frozen=True)
class PersonFacts:
    birth_date: dt.date
    death_date: dt.date | None
    category: str


@dataclass(frozen=True)
class DocumentFacts:
    kind: str
    holder: Holder
    expires_on: dt.date | None


@dataclass(frozen=True)
class TargetFacts:
    """The chosen district with its site and entity."""

    entity_participating: bool
    contract_to: dt.date | None
    district_id: int
    profile: str
    capacity: int
    attached: int
    site_kato: str
    # the first day the entity is no longer in the database (the end of the inclusion period in force on
    # the decision day), or None when no end is recorded.
    included_to: dt.date | None = None


@dataclass(frozen=True)
class CurrentFacts:
    """The person's open attachment."""

    district_id: int
    entity_participating: bool
    # the state databases show a change of address since this attachment was decided (``relocated``).
    moved: bool = False


@dataclass(frozen=True)
class ApplicationFacts:
    """Everything ``evaluate`` needs, gathered by the service."""

    filed_on: dt.date
    today: dt.date
    policy: Policy
    person: PersonFacts
    by_self: bool
    representative_valid: bool
    channel: Channel
    documents: tuple[DocumentFacts, ...]
    basis: PlaceBasis
    address_kato: str | None
    border_claim: bool
    reason: ChangeReason | None
    target: TargetFacts
    current: CurrentFacts | None
    voluntary_changes_this_year: int
    reviewed: bool = False
    pregnant: bool = False  # A-23 (M): declared by the applicant, verified by a registrar


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    error: errors.RuleViolation | None = None
    review: tuple[Review, ...] = ()
    cause: Cause | None = None
    begin_date: dt.date | None = None
    insured_until: dt.date | None = None
    outside_zone: bool = False  # the basis address lies outside the organization's ATU

    @property
    def reason_code(self) -> str | None:
        """Return the refusal code, if refused."""
        return self.error.code if self.error is not None else None


def age_on(birth: dt.date, day: dt.date) -> int:
    """Return the age in full years on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def years_before(day: dt.date, years: int) -> dt.date:
    """Return the latest birth date of a person who is at least ``years`` old on ``day``."""
    if day.year - years < dt.MINYEAR:  # older than the calendar: the earliest date (found by API fuzzing)
        return dt.date.min
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def check_alive(person: PersonFacts, today: dt.date) -> errors.RuleViolation | None:
    """A-92: a deceased person is not attached."""
    if person.death_date is not None and person.death_date <= today:
        return errors.PersonDead()
    return None


def check_applicant(
    person: PersonFacts, *, by_self: bool, representative_valid: bool, today: dt.date
) -> errors.RuleViolation | None:
    """A-24, A-65: a minor applies through a legal representative; anyone else's application needs one."""
    if by_self:
        return errors.RepresentativeRequired() if age_on(person.birth_date, today) < ADULT_AGE else None
    return None if representative_valid else errors.RepresentativeRequired()


def check_documents(
    documents: Iterable[DocumentFacts], *, by_self: bool, channel: Channel, today: dt.date
) -> errors.RuleViolation | None:
    """A-60, A-65: a valid identity document of the person and, for a representative, of the representative.

    Documents presented in person must all be valid; on eGov the state systems' records (A-53)
    need one valid document per holder.
    """
    needed = [Holder.PERSON] if by_self else [Holder.PERSON, Holder.APPLICANT]
    identity = [d for d in documents if d.kind in IDENTITY_KINDS]
    for holder in needed:
        docs = [d for d in identity if d.holder is holder]
        if not docs:
            return errors.DocumentRequired()
        expired = sorted(
            (d.expires_on for d in docs if d.expires_on is not None and d.expires_on < today), reverse=True
        )
        if expired and (channel is not Channel.EGOV or len(expired) == len(docs)):
            return errors.DocumentExpired(expires_on=expired[0].isoformat())
    return None


def insured_until(documents: Iterable[DocumentFacts], today: dt.date) -> dt.date | None:
    """Return the end of the longest insurance contract valid today (A-14), or None."""
    ends = [
        d.expires_on
        for d in documents
        if d.kind == DocKind.INSURANCE_CONTRACT and d.expires_on is not None and d.expires_on >= today
    ]
    return max(ends) if ends else None


def check_insurance(
    person: PersonFacts, documents: Iterable[DocumentFacts], today: dt.date
) -> errors.RuleViolation | None:
    """A-14, A-15, A-66: EAEU labour migrants and temporary foreigners need a valid insurance contract."""
    if person.category in INSURED_CATEGORIES and insured_until(documents, today) is None:
        return errors.InsuranceRequired()
    return None


def check_entity(target: TargetFacts, today: dt.date) -> errors.RuleViolation | None:
    """A-04, B-02, B-06: only entities in the database, with a Fund contract not yet ended, take people."""
    if not target.entity_participating or not under_contract(target.contract_to, today):
        return errors.EntityNotParticipating(day=today.isoformat())
    return None


def last_day_served(target: TargetFacts) -> dt.date | None:
    """Return the last day the entity may serve attached people: its Fund contract's last day or the day before
    its inclusion ends, whichever comes first (None: neither has an end)."""
    ends = [d for d in (target.contract_to, target.included_to and target.included_to - dt.timedelta(days=1)) if d]
    return min(ends) if ends else None


def check_effective(target: TargetFacts, begin: dt.date) -> errors.RuleViolation | None:
    """A-05, B-03, B-06: the Fund contract and the inclusion are checked on the day the attachment takes effect
    (1 January of the next year for a change in the campaign), not on the decision day: an entity whose contract
    or inclusion ends before that day cannot take the attachment."""
    last = last_day_served(target)
    if last is not None and last < begin:
        return errors.ContractEndsBeforeEffect(last_day=last.isoformat(), begin=begin.isoformat())
    return None


def window_open(policy: Policy, day: dt.date) -> bool:
    """A-31, A-32, A-33: the campaign window (both ends included), or all year under a year-round policy."""
    return policy.year_round or policy.window_start <= day <= policy.window_end


def cause_of(
    policy: Policy, *, filed_on: dt.date, reason: ChangeReason | None, current: CurrentFacts | None
) -> tuple[errors.RuleViolation | None, Cause | None, tuple[Review, ...]]:
    """A-31, A-32, A-42: decide whether the application may be filed now, and under which cause."""
    if current is None:
        if window_open(policy, filed_on) or policy.first_attachment_any_time:
            return None, Cause.FIRST_ATTACHMENT, ()
        return errors.CampaignClosed(day=filed_on.isoformat()), None, ()
    if reason is ChangeReason.CLOSURE:
        if current.entity_participating:
            return errors.ReasonNotValid(), None, ()
        return None, Cause.CLOSURE, ()
    if reason is ChangeReason.RELOCATION:
        return None, Cause.RELOCATION, (Review.RELOCATION,)
    if window_open(policy, filed_on):
        return None, Cause.VOLUNTARY_CHANGE, ()
    return errors.CampaignClosed(day=filed_on.isoformat()), None, ()


def relocated(*, since: dt.date, then: tuple[int, str] | None, now: tuple[int, str, dt.date | None] | None) -> bool:
    """A-42: tell whether a person has moved since their attachment was decided on ``since``.

    ``then`` is (id, KATO) of the address the attachment rested on that day, ``now`` (id, KATO, valid from)
    the address the new application rests on. A move is an address recorded from a day after ``since``, or a
    current address in another place than the one the attachment was made for."""
    if now is None:
        return False
    _, kato, valid_from = now
    if valid_from is not None and valid_from > since:
        return True
    return then is not None and then[0] != now[0] and then[1] != kato


def check_relocation(
    reason: ChangeReason | None, current: CurrentFacts | None, channel: Channel
) -> errors.RuleViolation | None:
    """A-42, A-53: on eGov a change for relocation rests on the address change the state databases show; in
    person or in writing the applicant presents its proof and a registrar checks it (Review.RELOCATION)."""
    if reason is ChangeReason.RELOCATION and current is not None and channel is Channel.EGOV and not current.moved:
        return errors.RelocationNotShown()
    return None


def actual_residence_child(policy: Policy, age: int) -> bool:
    """A-23 (H): children under 5 are attached at the place of actual residence."""
    return policy.children_under_5_actual_residence and age < ACTUAL_RESIDENCE_AGE


def actual_residence_pregnancy(policy: Policy, age: int, pregnant: bool) -> bool:
    """A-23 (M, per Astana akimat): a pregnancy declared in the application admits the actual-residence
    basis (no document category of A-60..A-66 proves it, so a registrar verifies it, Review.PREGNANCY)."""
    return policy.pregnant_actual_residence and pregnant and not actual_residence_child(policy, age)


def check_basis(policy: Policy, basis: PlaceBasis, age: int, pregnant: bool = False) -> errors.RuleViolation | None:
    """A-21 (work switchable), A-24 (study for 18+), A-23 (actual residence for children under 5 and,
    where the policy says so, pregnant women)."""
    allowed = {
        PlaceBasis.RESIDENCE_PERMANENT: True,
        PlaceBasis.RESIDENCE_TEMPORARY: True,
        PlaceBasis.WORK: policy.allow_work_basis,
        PlaceBasis.STUDY: policy.allow_study_basis_18plus and age >= ADULT_AGE,
        PlaceBasis.ACTUAL_RESIDENCE: actual_residence_child(policy, age)
        or actual_residence_pregnancy(policy, age, pregnant),
    }[basis]
    return None if allowed else errors.BasisNotAllowed()


def pregnancy_review(policy: Policy, basis: PlaceBasis, age: int, pregnant: bool) -> tuple[Review, ...]:
    """A-23 (M): an attachment by actual residence that rests on a declared pregnancy waits for a registrar."""
    if basis is PlaceBasis.ACTUAL_RESIDENCE and actual_residence_pregnancy(policy, age, pregnant):
        return (Review.PREGNANCY,)
    return ()


def atu_of(kato: str, level: AtuLevel) -> str:
    """Return the part of a KATO code that names its administrative-territorial unit (D-20, D-23)."""
    if level is AtuLevel.OBLAST or kato[:2] in REPUBLICAN_CITIES:
        return kato[:2]
    return kato[:4]


def same_atu(a: str, b: str, level: AtuLevel = AtuLevel.DISTRICT) -> bool:
    """Tell whether two KATO codes lie in one administrative-territorial unit."""
    return atu_of(a, level) == atu_of(b, level)


def check_atu(
    policy: Policy, *, address_kato: str | None, site_kato: str, border_claim: bool
) -> tuple[errors.RuleViolation | None, tuple[Review, ...]]:
    """A-20: the site lies in the ATU of the basis address; A-22: border territories may cross, once verified."""
    if address_kato is None:
        return errors.AddressMissing(), ()
    if same_atu(address_kato, site_kato, policy.atu_level):
        return None, ()
    if border_claim and policy.border_exception:
        return None, (Review.BORDER,)
    return errors.AtuMismatch(), ()


def outside_zone(policy: Policy, *, address_kato: str | None, site_kato: str) -> bool:
    """A-26 (with A-20, A-22): the basis address lies outside the ATU the organization serves."""
    return address_kato is not None and not same_atu(address_kato, site_kato, policy.atu_level)


def care_at_home(policy: Policy, *, outside: bool, requested: bool | None, recorded: bool | None) -> bool | None:
    """A-26 (M): for a person outside the service zone, whether home visits are possible is agreed and
    recorded on the attachment: the registrar's record decides; without one, the applicant's choice
    where the policy allows it; otherwise no. Inside the zone it does not apply (None)."""
    if not outside:
        return None
    if recorded is not None:
        return recorded
    if policy.care_at_home_by_applicant and requested is not None:
        return requested
    return False


def check_profile(profile: str, age: int) -> errors.RuleViolation | None:
    """A-81: therapist districts serve adults, pediatric districts children, GP districts everyone."""
    if (profile == "therapist" and age < ADULT_AGE) or (profile == "pediatric" and age >= ADULT_AGE):
        return errors.ProfileMismatch()
    return None


def check_change_limit(policy: Policy, cause: Cause, changes_this_year: int) -> errors.RuleViolation | None:
    """A-41: voluntary changes per year are limited (1 or 2, by policy); A-42 changes do not count."""
    if cause is Cause.VOLUNTARY_CHANGE and changes_this_year >= policy.max_voluntary_changes_per_year:
        return errors.ChangeLimit(limit=policy.max_voluntary_changes_per_year)
    return None


def check_capacity(policy: Policy, target: TargetFacts) -> errors.RuleViolation | None:
    """A-80, A-71 (L, switchable): no attachment beyond the district's configured capacity."""
    if policy.capacity_check and target.attached >= target.capacity:
        return errors.CapacityExceeded()
    return None


def free_places(capacity: int, attached: int) -> int:
    """Return the free places of a district (never negative)."""
    return max(0, capacity - attached)


def begin_date(policy: Policy, cause: Cause, today: dt.date) -> dt.date:
    """Return the first day of a new attachment decided today.

    A-05: a voluntary change in the campaign takes effect on the policy's effective date (1 January
    of the next year). Other attachments take effect the next day (L), so that nothing decided
    today changes any day up to today, and capitation snapshots stay reproducible (A-121).
    """
    tomorrow = today + dt.timedelta(days=1)
    if cause is Cause.VOLUNTARY_CHANGE and not policy.year_round and policy.effective_date is not None:
        return max(policy.effective_date, tomorrow)
    return tomorrow


def evaluate(facts: ApplicationFacts) -> Decision:
    """Apply every rule in a fixed order: the first violation refuses; open review items queue it."""
    f = facts
    age = age_on(f.person.birth_date, f.today)
    error = (
        check_alive(f.person, f.today)
        or check_applicant(f.person, by_self=f.by_self, representative_valid=f.representative_valid, today=f.today)
        or check_documents(f.documents, by_self=f.by_self, channel=f.channel, today=f.today)
        or check_insurance(f.person, f.documents, f.today)
        or check_entity(f.target, f.today)
    )
    if error is None and f.current is not None and f.current.district_id == f.target.district_id:
        error = errors.AlreadyAttached()
    if error is not None:
        return Decision(Outcome.REFUSE, error)
    error, cause, review = cause_of(f.policy, filed_on=f.filed_on, reason=f.reason, current=f.current)
    if error is not None or cause is None:
        return Decision(Outcome.REFUSE, error or errors.CampaignClosed(day=f.filed_on.isoformat()))
    if (error := check_relocation(f.reason, f.current, f.channel)) is not None:
        return Decision(Outcome.REFUSE, error)
    atu_error, atu_review = check_atu(
        f.policy, address_kato=f.address_kato, site_kato=f.target.site_kato, border_claim=f.border_claim
    )
    error = (
        check_basis(f.policy, f.basis, age, f.pregnant)
        or atu_error
        or check_profile(f.target.profile, age)
        or check_change_limit(f.policy, cause, f.voluntary_changes_this_year)
        or check_capacity(f.policy, f.target)
    )
    if error is not None:
        return Decision(Outcome.REFUSE, error)
    pending = (
        review
        + atu_review
        + pregnancy_review(f.policy, f.basis, age, f.pregnant)
        + ((Review.WRITTEN,) if f.channel is Channel.WRITTEN else ())
    )
    begin = begin_date(f.policy, cause, f.today)
    if (error := check_effective(f.target, begin)) is not None:
        return Decision(Outcome.REFUSE, error)
    until = insured_until(f.documents, f.today) if f.person.category in INSURED_CATEGORIES else None
    outside = outside_zone(f.policy, address_kato=f.address_kato, site_kato=f.target.site_kato)
    outcome = Outcome.NEEDS_REGISTRAR if pending and not f.reviewed else Outcome.APPROVE
    return Decision(outcome, review=pending, cause=cause, begin_date=begin, insured_until=until, outside_zone=outside)
