"""Users of the settings UI: created by `shelfsync users create` (or the demo), checked at
login. Each belongs to one organization; its role decides whether it may change anything.

Passwords are kept only as werkzeug's salted hash (`User.set_password`). A wrong email and a
wrong password fail alike (`None`), so a login form does not tell which emails exist.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import Organization, User, UserRole

#: Enough to catch a typo, not an RFC 5322 parser: one @, a dot in the domain, no spaces.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
#: Roles that may change settings, connections, links and orders; members only read.
CHANGERS = frozenset({UserRole.OWNER.value, UserRole.ADMIN.value})


def check_email(raw: str) -> str:
    """The normalised email; `InvalidInput("email", …)` when it cannot be one."""
    email = User.normalize_email(raw)
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidInput("email", "must be an email address (name@example.com)")
    return email


def check_password(password: str) -> str:
    """A password long enough to resist guessing, short enough to hash cheaply."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")
    return password


def create_user(session: Session, organization: Organization, email: str, password: str,
                role: str = UserRole.MEMBER.value) -> User:
    """A new user of `organization`; `InvalidInput` naming the field that is wrong."""
    email = check_email(email)
    if role not in {r.value for r in UserRole}:
        raise InvalidInput("role", f"must be one of {', '.join(r.value for r in UserRole)}")
    check_password(password)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise InvalidInput("email", f"a user {email} already exists")
    assert organization.id is not None
    user = User(organization_id=organization.id, email=email, password_hash="", role=role)
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None (either being wrong)."""
    try:
        normalized = check_email(email)
    except InvalidInput:
        return None
    user = session.exec(select(User).where(User.email == normalized)).first()
    if user is None or not password:
        return None
    return user if user.check_password(password) else None


def may_change(user: User) -> bool:
    """Whether the user may change anything (owners and admins), not only read."""
    return user.role in CHANGERS
