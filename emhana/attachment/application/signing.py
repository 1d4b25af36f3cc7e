"""A portal application carries its applicant's signature over its canonical form (issue 16, item 6).

Registered with the trust layer's signable records when attachment is imported: an application made on the portal
(channel ``egov``) is signed by its applicant herself (``applicant_signs``: the certificate must carry the
applicant's IIN; no organization's BIN), with NCALayer or, in demo mode, the demo PKI. Applications made at the
desk or in writing are signed on paper and are not signable here.

``emhana.attachment.application/1`` — the signed form (RFC 8785 JSON): ``channel``, ``applicant_iin``,
``person_iin`` (the person applied for), ``entity_bin``, ``site`` and ``district`` (ids), ``place_basis``,
``change_reason`` (A-42, or null), ``border_claim``, ``pregnant``, ``care_at_home`` (true or null), ``filed_on``
(ISO date). It names no application id, so the applicant signs it before the application exists and the signature
is attached when it is filed, in the same unit of work (``submission_form``: the same bytes from the apply form's
fields, for the applicant or a person she represents today).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment.enums import Channel
from emhana.attachment.models import Application
from emhana.facilities.models import District, Entity, Site
from emhana.identity.models import Person
from emhana.identity.service import represented_ids
from emhana.kernel.errors import Forbidden, NotFound
from emhana.trust.signatures import canonical
from emhana.trust.signatures.records import RecordKind, Signable, SignableKind, register
from emhana.trust.signatures.service import signature_of

FORM = "emhana.attachment.application/1"
KIND = RecordKind.ATTACHMENT_APPLICATION


def application_form(
    *,
    channel: str,
    applicant_iin: str,
    person_iin: str,
    entity_bin: str,
    site_id: int,
    district_id: int,
    place_basis: str,
    change_reason: str | None,
    border_claim: bool,
    pregnant: bool,
    care_at_home: bool | None,
    filed_on: str,
) -> bytes:
    """Return the signed form of a portal application: who applies for whom, where, on what basis, when."""
    document: dict[str, Any] = {
        "type": FORM,
        "channel": channel,
        "applicant_iin": applicant_iin,
        "person_iin": person_iin,
        "entity_bin": entity_bin,
        "site": site_id,
        "district": district_id,
        "place_basis": place_basis,
        "change_reason": change_reason,
        "border_claim": bool(border_claim),
        "pregnant": bool(pregnant),
        "care_at_home": care_at_home,
        "filed_on": filed_on,
    }
    return canonical.jcs(document)


def load_application(session: Session, record_id: int) -> Signable:
    """Return a portal application's signable view; raise NotFound for any other application."""
    app = session.get(Application, record_id)
    if app is None or app.channel != Channel.EGOV.value:
        raise NotFound()
    applicant = session.get(Person, app.applicant_person_id)
    person = session.get(Person, app.person_id)
    entity = session.get(Entity, app.entity_id)
    if applicant is None or person is None or entity is None:
        raise NotFound()
    data = application_form(
        channel=app.channel,
        applicant_iin=applicant.iin,
        person_iin=person.iin,
        entity_bin=entity.bin,
        site_id=app.site_id,
        district_id=app.district_id,
        place_basis=app.place_basis,
        change_reason=app.change_reason,
        border_claim=app.border_claim,
        pregnant=app.pregnant,
        care_at_home=app.care_at_home,
        filed_on=app.filed_on.isoformat(),
    )
    return Signable(
        KIND,
        app.id,
        data,
        entity.id,
        entity.bin,
        None,
        app.person_id,
        signer_person_id=app.applicant_person_id,
    )


def submission_form(
    session: Session,
    actor: Actor,
    *,
    person_id: int,
    district_id: int,
    place_basis: str,
    change_reason: str | None,
    border_claim: bool,
    pregnant: bool,
    care_at_home: bool | None,
    day: dt.date,
) -> bytes:
    """Return the form a portal application with these fields, filed today, will have: what the applicant signs
    before she submits. Only for herself or a person she represents today (else Forbidden, so no IIN of anyone
    else is shown); an unknown district is NotFound."""
    if actor.person_id is None:
        raise Forbidden()
    if person_id != actor.person_id and person_id not in represented_ids(
        session=session, representative_id=actor.person_id, day=day
    ):
        raise Forbidden()
    district = session.get(District, district_id)
    site = session.get(Site, district.site_id) if district is not None else None
    entity = session.get(Entity, site.entity_id) if site is not None else None
    applicant, person = session.get(Person, actor.person_id), session.get(Person, person_id)
    if district is None or site is None or entity is None or applicant is None or person is None:
        raise NotFound()
    return application_form(
        channel=Channel.EGOV.value,
        applicant_iin=applicant.iin,
        person_iin=person.iin,
        entity_bin=entity.bin,
        site_id=site.id,
        district_id=district.id,
        place_basis=place_basis,
        change_reason=change_reason or None,
        border_claim=border_claim,
        pregnant=pregnant,
        care_at_home=care_at_home,
        filed_on=day.isoformat(),
    )


@dataclass(frozen=True)
class SignatureView:
    """What an application's page shows of its applicant's signature."""

    signable: bool  # a portal application
    signed: bool
    signer_name: str | None
    signed_at: Any
    may_sign: bool  # the reader is its applicant and it is not signed yet


def view(session: Session, actor: Actor, app: Application) -> SignatureView:
    """Return the applicant's signature of an application as its page shows it (no IIN)."""
    signable = app.channel == Channel.EGOV.value
    row = signature_of(session, KIND, app.id) if signable else None
    name = None
    if row is not None:
        subject = str(row.evidence.get("signer_subject", ""))
        name = next((part[3:] for part in subject.split(",") if part.startswith("CN=")), None)
    return SignatureView(
        signable=signable,
        signed=row is not None,
        signer_name=name,
        signed_at=row.signed_at if row is not None else None,
        may_sign=signable and row is None and actor.person_id == app.applicant_person_id,
    )


# The applicant signs her own portal application (the citizen's capability to apply on the portal).
register(
    SignableKind(
        kind=KIND, load=load_application, signers=Can.APPLY_ON_PORTAL, author_signs=False, applicant_signs=True
    )
)
