"""Pure rules of account administration: who may appoint whom, how an account is bound, what a username,
a name and a password must look like. Plain values in, a decision out (no database, web or clock)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from emhana.accounts.roles import Can, Role, may
from emhana.kernel.i18n import N_

# Roles that act for one healthcare organization and are always bound to it (emhana.accounts.policy reads the
# same set: such an account bound to none is refused at every door).
BOUND_ROLES = frozenset(
    {Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.ENTITY_ADMIN, Role.MIS_CLIENT}
)
# An organization's administrator appoints these, in its own organization only.
ENTITY_STAFF_ROLES = frozenset({Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.MIS_CLIENT})
# The Fund appoints organizations' administrators and inspectors. Fund administrators themselves are made on the
# server's command line (``emhana accounts create``); employers and citizens sign in with their EDS.
FUND_APPOINTED_ROLES = frozenset({Role.ENTITY_ADMIN, Role.VERIFIER})

PASSWORD_MIN = 12
PASSWORD_MAX = 200
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{2,99}")
DEMO_PREFIX = "demo-"

MSG_USERNAME = N_(
    "A username has 3 to 100 characters: small Latin letters, digits, dots, hyphens, underscores or @, "
    "beginning with a letter or a digit."
)
MSG_DEMO_USERNAME = N_("Usernames beginning with demo- are kept for the demonstration; choose another.")
MSG_DISPLAY_NAME = N_("Enter the full name: up to 200 characters, without control or invisible characters.")
MSG_NEEDS_ORGANIZATION = N_("This role works for one healthcare organization: name the organization.")
MSG_NO_ORGANIZATION = N_("This role works for no healthcare organization: leave the organization empty.")
MSG_NEEDS_PERSON = N_("A citizen's account must be tied to a registered person.")
MSG_UNKNOWN_BIN = N_("No healthcare entity with this BIN is registered.")
MSG_OWN_ACCOUNT = N_("You cannot change the role of, or deactivate, your own account.")
MSG_CLIENT_ACCOUNT = N_(
    "This account acts for a client application; change or deactivate it on the client application's page."
)


@dataclass(frozen=True)
class Binding:
    """What an account is tied to: its role, its organization and its person."""

    role: Role
    entity_id: int | None
    person_id: int | None = None


def binding_problem(binding: Binding) -> str | None:
    """Return why an account cannot be bound so (a catalogue message), or None when it can."""
    if binding.role in BOUND_ROLES and binding.entity_id is None:
        return MSG_NEEDS_ORGANIZATION
    if binding.role not in BOUND_ROLES and binding.entity_id is not None:
        return MSG_NO_ORGANIZATION
    if binding.role is Role.CITIZEN and binding.person_id is None:
        return MSG_NEEDS_PERSON
    return None


def username_problem(username: str) -> str | None:
    """Return why a username cannot be given (a catalogue message), or None."""
    if username.startswith(DEMO_PREFIX):
        return MSG_DEMO_USERNAME
    return None if USERNAME.fullmatch(username) else MSG_USERNAME


def display_name_problem(name: str) -> str | None:
    """Return why a display name cannot be shown (control, format or bidi characters), or None."""
    if not name.strip() or len(name) > 200:
        return MSG_DISPLAY_NAME
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        return MSG_DISPLAY_NAME
    return None


def password_acceptable(new: str, *, username: str, old: str = "") -> bool:
    """Tell whether a password someone chooses is long enough and not the username or the old password."""
    return PASSWORD_MIN <= len(new) <= PASSWORD_MAX and new.casefold() != username.casefold() and new != old


def appointable_roles(actor_role: Role) -> frozenset[Role]:
    """Return the roles an administrator of this role may give (empty for everyone else)."""
    roles: frozenset[Role] = frozenset()
    if may(actor_role, Can.ADMINISTER_FUND_ACCOUNTS):
        roles |= FUND_APPOINTED_ROLES
    if may(actor_role, Can.ADMINISTER_ENTITY_STAFF):
        roles |= ENTITY_STAFF_ROLES
    return roles


def administers(actor_role: Role, actor_entity_id: int | None, target: Binding) -> bool:
    """Tell whether an administrator may act on an account bound so (create it, or change, reset or
    deactivate it): the Fund on organizations' administrators and inspectors anywhere, an organization's
    administrator on its own organization's staff only — never on another organization's, never on the Fund."""
    if target.role not in appointable_roles(actor_role):
        return False
    if may(actor_role, Can.ADMINISTER_FUND_ACCOUNTS):
        return True
    return actor_entity_id is not None and target.entity_id == actor_entity_id
