"""`shelfsync users create`: a person who signs in to the settings UI.

The password is read from a hidden prompt (typed twice) or, with `--password-stdin`, from the
first line of standard input (for scripts: it never appears in the process list or the shell's
history, as an option's value would).
"""

from __future__ import annotations

import sys

import click

from shelfsync.core.commands.output import EXIT_BAD_INPUT, emit, fail, option, safe
from shelfsync.core.db import session_scope
from shelfsync.core.models import UserRole
from shelfsync.core.services import users
from shelfsync.core.services.connections import find_organization

ROLES = tuple(role.value for role in UserRole)


@click.group("users")
def users_group() -> None:
    """People who sign in to the settings UI."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            fail("no password on standard input", EXIT_BAD_INPUT)
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("create")
@click.argument("email")
@option("--org", "org_ref", required=True, help="The user's organization (id or name).")
@option("--role", type=click.Choice(ROLES), default=UserRole.MEMBER.value, show_default=True,
        help="member reads; admin and owner also change settings.")
@option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def users_create_command(email: str, org_ref: str, role: str, password_stdin: bool,
                         as_json: bool) -> None:
    """Create a user of an organization who can sign in to the UI."""
    password = _password(password_stdin)
    with session_scope() as session:
        organization = find_organization(session, org_ref)
        user = users.create_user(session, organization, email, password, role)
        data = {"id": user.id, "email": user.email, "role": user.role,
                "organization": organization.name}
    emit(data, as_json, lambda d: f"user {d['id']}: {safe(d['email'])} ({d['role']}) of "
                                  f"{safe(d['organization'])}")
