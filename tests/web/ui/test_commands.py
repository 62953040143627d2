"""`shelfsync users create` (password from a prompt or stdin, hashed) and `shelfsync web`
(serves the UI and the webhook receiver)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from shelfsync.core.cli import build_cli
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import make_engine
from shelfsync.core.models import Organization, User

from .conftest import PASSWORD


@pytest.fixture
def env(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    engine = make_engine(migrated_url)
    with Session(engine) as session:
        session.add(Organization(name="Acme"))
        session.commit()
    engine.dispose()
    return migrated_url


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(build_cli(), list(args), input=stdin)


def users_of(url: str) -> list[User]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(User)).all())
    finally:
        engine.dispose()


def test_users_create_hashes_the_password_from_stdin_or_a_prompt(env: str) -> None:
    result = run("users", "create", "Ann@Acme.example", "--org", "Acme", "--role", "admin",
                 "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "ann@acme.example (admin) of Acme" in result.output
    result = run("users", "create", "bo@acme.example", "--org", "Acme",
                 stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    found = {user.email: user for user in users_of(env)}
    assert found["bo@acme.example"].role == "member"
    ann = found["ann@acme.example"]
    assert ann.password_hash != PASSWORD and ann.check_password(PASSWORD)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["not-an-email", "--org", "Acme"], PASSWORD, "email: must be an email address"),
    (["a@acme.example", "--org", "Nope"], PASSWORD, "no organization 'Nope'"),
    (["a@acme.example", "--org", "Acme"], "short", "password: must be at least 8 characters"),
    (["a@acme.example", "--org", "Acme"], "", "no password on standard input"),
])
def test_users_create_refuses_bad_input_in_one_line(env: str, args: list[str], stdin: str,
                                                    message: str) -> None:
    result = run("users", "create", *args, "--password-stdin", stdin=stdin + "\n")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert users_of(env) == []


def test_a_second_user_with_the_same_email_is_refused(env: str) -> None:
    assert run("users", "create", "a@acme.example", "--org", "Acme", "--password-stdin",
               stdin=PASSWORD + "\n").exit_code == 0
    again = run("users", "create", "A@acme.example", "--org", "Acme", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert again.exit_code == 2 and "a user a@acme.example already exists" in again.output


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_web_serves_the_ui_and_the_receiver(env: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "shelfsync.core", "web", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"on (http://\S+) ", line)
        assert found, line + (process.stderr.read() if process.poll() is not None else "")
        url = found.group(1)
        login = httpx.get(f"{url}/login", timeout=10)
        assert login.status_code == 200 and 'name="csrf_token"' in login.text
        assert httpx.get(f"{url}/stores/", timeout=10).status_code == 302
        # The webhook receiver is served too, outside CSRF: an unsigned call is a 401.
        assert httpx.post(f"{url}/webhooks/shopify/1", content=b"{}",
                          timeout=10).status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
