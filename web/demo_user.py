"""A sign-in for `shelfsync demo`: the demo prints the URL and this login.

The password is random per run (the demo's database is thrown away at exit), so a demo left
running on a shared machine does not open with a well-known password.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session

from shelfsync.core.models import Organization, UserRole
from shelfsync.core.services import users

DEMO_EMAIL = "demo@shelfsync.example"


def create_demo_user(session: Session, organization_id: int,
                     email: str = DEMO_EMAIL) -> tuple[str, str]:
    """Create the demo organization's owner; returns (email, password) to print."""
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise LookupError(f"no organization {organization_id}")
    password = secrets.token_urlsafe(12)
    users.create_user(session, organization, email, password, UserRole.OWNER.value)
    return email, password
