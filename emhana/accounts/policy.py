"""The one access policy every door reads: what an actor may see is decided by their role (``roles.MATRIX``),
their organization and their relation to the record.

Routes and pages admit roles with ``web.deps.require``; that gate also refuses an account whose role works for
an organization but which is bound to none (an MIS client, a registrar…), at every door. The services then ask
the questions below about the record itself: whose organization it belongs to, or whose person it is.
"""

from __future__ import annotations

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.kernel.errors import NoOrganization

# Roles whose every act is on behalf of one healthcare organization: unbound, they may do nothing.
ORGANIZATION_ROLES = frozenset(
    {Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.ENTITY_ADMIN, Role.MIS_CLIENT}
)


def unbound(actor: Actor) -> bool:
    """Tell whether the actor works for an organization but is bound to none."""
    return actor.role in ORGANIZATION_ROLES and actor.entity_id is None


def organization_of(actor: Actor) -> int:
    """Return the organization the actor acts for; refuse an organization role bound to none."""
    if actor.entity_id is None:
        raise NoOrganization()
    return actor.entity_id


def sees_every_organization(actor: Actor) -> bool:
    """The Fund oversees every organization's records."""
    return actor.role is Role.FUND_ADMIN


def may_see_organization_record(actor: Actor, entity_id: int | None) -> bool:
    """Tell whether a record kept by an organization (an application, a book, a referral) is the actor's to
    see as staff: the Fund sees all; an organization's staff and MIS only their own organization's."""
    if sees_every_organization(actor):
        return True
    return actor.role in ORGANIZATION_ROLES and actor.entity_id is not None and actor.entity_id == entity_id
