"""The list of participating entities published for a campaign (B-02): the campaign's year must exist, and the
list names the entities that take part on the first day of its attachment period (or on the publication day
when the list is published later). The versions themselves are kept by facilities.publication."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment.campaign import policy
from emhana.facilities import publication
from emhana.kernel.errors import NotFound
from emhana.kernel.i18n import N_


class CampaignNotFound(NotFound):
    """No campaign was created for the year."""

    code = "attachment.campaign_not_found"
    message = N_("There is no attachment campaign for {year}.")


def publish(
    *, session: Session, actor: Actor | None, year: int, published_on: dt.date, today: dt.date, now: dt.datetime
) -> publication.ParticipantList:
    """Publish a new version of the campaign year's list of participating entities (B-02)."""
    try:
        campaign = policy.get_policy(session, year)
    except NotFound:
        raise CampaignNotFound(year=year) from None
    as_of = max(campaign.window_start, published_on)
    return publication.publish(
        session=session, actor=actor, year=year, published_on=published_on, as_of=as_of, today=today, now=now
    )
