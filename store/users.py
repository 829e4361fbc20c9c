"""People who log in: operators, supervisors, trainers, admins, with argon2 password hashes.

Every mistake a person can make (unknown role, duplicate name, empty password) raises ``UserError``
with one line, and nothing is stored. The hasher is passed in so tests can use cheap parameters.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import ROLES, User

log = structlog.get_logger(__name__)

USERNAME_RE = re.compile(r"[\w.@-]{1,64}")
DEFAULT_HASHER = PasswordHasher()  # immutable parameters, safe to share


class UserError(ValueError):
    """A user request a person got wrong, in one line."""


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return role


def add_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    now: dt.datetime,
    *,
    display_name: str = "",
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> User:
    """Create a user in the caller's transaction."""
    username = (username or "").strip()
    if not USERNAME_RE.fullmatch(username):
        raise UserError(f"user name {username!r} must be 1-64 letters, digits or . _ @ -")
    _check_role(role)
    if not password:
        raise UserError("the password must not be empty")
    if len(display_name) > 64:
        raise UserError("the display name must be at most 64 characters")
    if find_user(session, username) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        password_hash=hasher.hash(password),
        active=True,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent duplicate only undoes this savepoint
            session.add(user)
    except IntegrityError:
        raise UserError(f"user {username!r} already exists") from None
    log.info("user.added", username=username, role=role)
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def list_users(session: Session, *, include_inactive: bool = True) -> list[User]:
    stmt = select(User).order_by(User.username)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return list(session.scalars(stmt))


def authenticate(
    session: Session, username: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER
) -> User | None:
    """The active user with this password, or None (never says which of the two was wrong).

    Upgrades the stored hash when the hasher's parameters changed (in the caller's transaction).
    """
    user = find_user(session, username)
    if user is None or not user.active:
        hasher.hash(password)  # spend what a verify costs, so timing does not reveal which names exist
        log.info("user.login_refused", username=username)
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        log.info("user.login_refused", username=username)
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def set_password(
    session: Session, username: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER
) -> User:
    user = _existing(session, username)
    if not password:
        raise UserError("the password must not be empty")
    user.password_hash = hasher.hash(password)
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    user = _existing(session, username)
    user.active = active
    return user


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def user_as_dict(user: User) -> dict[str, Any]:
    """JSON-ready, without the password hash."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "active": user.active,
        "created_at": user.created_at.astimezone(dt.UTC).isoformat(),
    }
