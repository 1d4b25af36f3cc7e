"""Account administration for real operation: the Fund appoints organizations' administrators, an
organization's administrator appoints, re-roles and deactivates its own staff, an administrator resets a
password; the server's command line (``actor=None``) may do all of it for any account.

Every change of an account's role, organization, state or password goes through one writer,
``write_account``, which hands an ``AccountChange`` to the recorders registered with ``on_change`` in the same
transaction. The audit log registers one (``emhana.audit.service``, a layer above this one); a hash chain over
account rows can register another. The writer refuses to write when nobody records (fail closed).

Password resets: the administrator gets a one-time password to hand over, shown once and stored only as its
hash. It opens no session: its holder signs in with it and must at once choose a password of their own
(``change_password``). New accounts made on pages or in the API start the same way. Deactivation, a reset,
a password change and a change of role or organization revoke every token and page session of the account.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account, ClientApp
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.rules import (
    BOUND_ROLES,
    ENTITY_STAFF_ROLES,
    FUND_APPOINTED_ROLES,
    MSG_CLIENT_ACCOUNT,
    MSG_OWN_ACCOUNT,
    PASSWORD_MIN,
    Binding,
    administers,
    binding_problem,
    display_name_problem,
    password_acceptable,
    username_problem,
)
from emhana.accounts.service import Actor, actor_of, hash_password, revoke_tokens, verify_password
from emhana.kernel import clock
from emhana.kernel.errors import (
    AccountInvalid,
    AccountNotFound,
    AccountUnchangeable,
    RoleNotAllowed,
    UsernameTaken,
    WeakPassword,
)
from emhana.kernel.i18n import N_

MSG_UNKNOWN_ORGANIZATION = N_("There is no healthcare entity with this number in the database.")
MSG_UNKNOWN_PERSON = N_("There is no registered person with this number.")
OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied by hand


@dataclass(frozen=True)
class AccountChange:
    """One change of an account, as the recorders (the audit log, a hash chain) receive it."""

    account_id: int
    action: str  # account.created, account.role_changed, account.deactivated, account.password_reset, …
    actor: Actor | None  # None: the server's command line
    detail: str  # the state after the change, e.g. "role=registrar entity=12 active=yes"


Recorder = Callable[[Session, AccountChange], None]
_recorders: list[Recorder] = []


def on_change(recorder: Recorder) -> None:
    """Register a recorder of account changes (called in the writing transaction, after the flush)."""
    if recorder not in _recorders:
        _recorders.append(recorder)


def state_of(account: Account) -> str:
    """Describe an account's role, organization and state for the audit log."""
    entity = account.entity_id if account.entity_id is not None else "-"
    return f"role={account.role} entity={entity} active={'yes' if account.active else 'no'}"


def write_account(session: Session, account: Account, *, action: str, actor: Actor | None) -> None:
    """The one writer of account rows: write the row, then tell every recorder, in the same transaction."""
    if not _recorders:
        raise RuntimeError("account changes must be audited: import emhana.audit.service (emhana.models does)")
    session.add(account)
    session.flush()
    change = AccountChange(account_id=account.id, action=action, actor=actor, detail=state_of(account))
    for recorder in _recorders:
        recorder(session, change)


@dataclass(frozen=True)
class NewAccount:
    """An account to create: who, under which role, bound to which organization (and, for a citizen, person)."""

    username: str
    display_name: str
    role: Role
    entity_id: int | None = None
    person_id: int | None = None


@dataclass(frozen=True)
class Issued:
    """An account just created or reset, with the one-time password to hand over (never stored in clear)."""

    account: Account
    one_time_password: str | None


def one_time_password() -> str:
    """Return a one-time password of 16 unambiguous characters (about 79 bits), grouped by four."""
    chars = "".join(secrets.choice(OTP_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def _refers(session: Session, column: ColumnElement[int | None], value: int) -> bool:
    """Tell whether the row a foreign-key column of ``account`` points at exists (the organization or the
    person), read through the key itself: this layer does not import the tables above it."""
    target = next(iter(column.foreign_keys)).column
    return bool(session.scalar(select(exists().where(target == value))))


def _check_binding(session: Session, binding: Binding) -> None:
    problem = binding_problem(binding)
    if problem is not None:
        raise AccountInvalid(problem)
    if binding.entity_id is not None and not _refers(session, Account.__table__.c.entity_id, binding.entity_id):
        raise AccountInvalid(MSG_UNKNOWN_ORGANIZATION)
    if binding.person_id is not None and not _refers(session, Account.__table__.c.person_id, binding.person_id):
        raise AccountInvalid(MSG_UNKNOWN_PERSON)


def _binding(account: Account) -> Binding:
    return Binding(Role(account.role), account.entity_id, account.person_id)


def create(*, session: Session, actor: Actor | None, new: NewAccount, password: str | None = None) -> Issued:
    """Create an account. An administrator creates only what they administer and gets a one-time password to
    hand over; the command line (``actor=None``) creates any account, with a password its operator typed."""
    username, name = new.username.strip(), new.display_name.strip()
    for problem in (username_problem(username), display_name_problem(name)):
        if problem is not None:
            raise AccountInvalid(problem)
    entity_id = new.entity_id
    if entity_id is None and actor is not None and may(actor.role, Can.ADMINISTER_ENTITY_STAFF):
        entity_id = actor.entity_id  # an organization's administrator appoints in its own organization
    binding = Binding(new.role, entity_id, new.person_id)
    if actor is not None and not administers(actor.role, actor.entity_id, binding):
        raise RoleNotAllowed()
    _check_binding(session, binding)
    if session.scalar(select(exists().where(Account.username == username))):
        raise UsernameTaken()
    if password is not None and not password_acceptable(password, username=username):
        raise WeakPassword(minimum=PASSWORD_MIN)
    otp = None if password is not None else one_time_password()
    account = Account(
        username=username,
        password_hash=hash_password(password if password is not None else str(otp)),
        role=new.role.value,
        display_name=name,
        person_id=new.person_id,
        entity_id=entity_id,
        active=True,
        must_change_password=otp is not None,
        created_by=actor.account_id if actor else None,
    )
    write_account(session, account, action="account.created", actor=actor)
    return Issued(account, otp)


def _scope(actor: Actor | None) -> ColumnElement[bool] | None:
    """Return the condition of the accounts an administrator administers (None: the command line, all)."""
    if actor is None:
        return None
    parts: list[ColumnElement[bool]] = []
    if may(actor.role, Can.ADMINISTER_FUND_ACCOUNTS):
        parts.append(Account.role.in_([r.value for r in FUND_APPOINTED_ROLES]))
    if may(actor.role, Can.ADMINISTER_ENTITY_STAFF) and actor.entity_id is not None:
        parts.append(Account.role.in_([r.value for r in ENTITY_STAFF_ROLES]) & (Account.entity_id == actor.entity_id))
    return or_(*parts) if parts else Account.id.is_(None)


def administered(*, session: Session, actor: Actor | None, account_id: int) -> Account:
    """Return an account the actor administers; any other answers as if it did not exist."""
    account = session.get(Account, account_id)
    if account is None or (actor is not None and not administers(actor.role, actor.entity_id, _binding(account))):
        raise AccountNotFound()
    return account


def by_username(*, session: Session, username: str) -> Account:
    """Return the account of a username (the command line's way to name one)."""
    account = session.scalar(select(Account).where(Account.username == username.strip()))
    if account is None:
        raise AccountNotFound()
    return account


def listing(
    *,
    session: Session,
    actor: Actor | None,
    q: str = "",
    role: Role | None = None,
    entity_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Account]]:
    """Return how many accounts the actor administers match, and one page of them by username."""
    query = select(Account)
    scope = _scope(actor)
    if scope is not None:
        query = query.where(scope)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Account.username).like(like), func.lower(Account.display_name).like(like)))
    if role is not None:
        query = query.where(Account.role == role.value)
    if entity_id is not None:
        query = query.where(Account.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Account.username).limit(limit).offset(offset)).all()
    return total, list(rows)


def _not_a_client(session: Session, account: Account) -> None:
    """Refuse to change an account that acts for a client application: its role and organization are the
    client's binding (emhana/accounts/clients.py), and it signs in with its keys, not a password."""
    if session.scalar(select(ClientApp.id).where(ClientApp.account_id == account.id)) is not None:
        raise AccountUnchangeable(MSG_CLIENT_ACCOUNT)


def _changeable(actor: Actor | None, account: Account) -> None:
    if actor is not None and account.id == actor.account_id:
        raise AccountUnchangeable(MSG_OWN_ACCOUNT)
    if not account.active:
        raise AccountUnchangeable()


def set_role(
    *, session: Session, actor: Actor | None, account: Account, role: Role, entity_id: int | None = None
) -> Account:
    """Give an account another role or move it to another organization (``entity_id`` None keeps its
    organization when the new role has one). Its sessions end: it signs in again under its new role."""
    _changeable(actor, account)
    _not_a_client(session, account)
    keep = account.entity_id if role in BOUND_ROLES else None
    binding = Binding(role, entity_id if entity_id is not None else keep, account.person_id)
    if actor is not None and not administers(actor.role, actor.entity_id, binding):
        raise RoleNotAllowed()
    _check_binding(session, binding)
    if (binding.role.value, binding.entity_id) == (account.role, account.entity_id):
        return account
    account.role, account.entity_id = binding.role.value, binding.entity_id
    revoke_tokens(session=session, account_id=account.id)
    write_account(session, account, action="account.role_changed", actor=actor)
    return account


def deactivate(*, session: Session, actor: Actor | None, account: Account) -> Account:
    """Deactivate an account: it can no longer sign in, and its tokens and page sessions end at once."""
    if actor is not None and account.id == actor.account_id:
        raise AccountUnchangeable(MSG_OWN_ACCOUNT)
    if not account.active:
        return account
    account.active, account.deactivated_at = False, clock.now()
    revoke_tokens(session=session, account_id=account.id)
    write_account(session, account, action="account.deactivated", actor=actor)
    return account


def reset_password(*, session: Session, actor: Actor | None, account: Account) -> Issued:
    """Replace an account's password with a one-time password, shown once to the administrator; the
    account's sessions end and its holder must choose a new password at the next sign-in."""
    if not account.active:
        raise AccountUnchangeable()
    _not_a_client(session, account)
    otp = one_time_password()
    account.password_hash, account.must_change_password = hash_password(otp), True
    revoke_tokens(session=session, account_id=account.id)
    write_account(session, account, action="account.password_reset", actor=actor)
    return Issued(account, otp)


def set_password(*, session: Session, account: Account, password: str) -> Account:
    """Set a password the server's operator typed (the command line only): it is the holder's own, no
    change is required; the account's sessions end."""
    if not account.active:
        raise AccountUnchangeable()
    if not password_acceptable(password, username=account.username):
        raise WeakPassword(minimum=PASSWORD_MIN)
    account.password_hash, account.must_change_password = hash_password(password), False
    revoke_tokens(session=session, account_id=account.id)
    write_account(session, account, action="account.password_set", actor=None)
    return account


def change_password(*, session: Session, username: str, password: str, new_password: str) -> Actor:
    """Let the holder of an account (a one-time password or their own) choose a new password; return the
    actor so the door can open a session. Other sessions of the account end. Demo accounts keep theirs."""
    account = verify_password(session=session, username=username, password=password)
    if not password_acceptable(new_password, username=account.username, old=password):
        raise WeakPassword(minimum=PASSWORD_MIN)
    account.password_hash, account.must_change_password = hash_password(new_password), False
    revoke_tokens(session=session, account_id=account.id)
    actor = actor_of(account)
    write_account(session, account, action="account.password_changed", actor=actor)
    return actor
