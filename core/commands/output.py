"""Shared CLI plumbing: one error line instead of a traceback, JSON or human output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from shelfsync.core.db import describe_database_error
from shelfsync.core.errors import InvalidInput, ShelfsyncError
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager

#: Exit codes: 1 for an operation that failed, 2 for input the user must correct.
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def plugin_manager() -> ShelfsyncPluginManager:
    """The CLI's plugin manager: built once per invocation and kept on the click context."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, ShelfsyncPluginManager):
        root.obj = get_plugin_manager()
    return root.obj


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print one error line on stderr and exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print `data` as one JSON document, or as `human(data)` text."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        click.echo(human(data) if human else str(data))


class ShelfsyncGroup(click.Group):
    """A click group whose errors are one line and an exit code, never a traceback."""

    def main(self, args: Sequence[str] | None = None, *pos: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            result = super().main(args, *pos, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            fail(exc.format_message(), EXIT_BAD_INPUT)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("aborted")
        except InvalidInput as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except ShelfsyncError as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            # Unreachable server, never-migrated or outdated schema: what to run, no SQL, no
            # password, whichever command met it.
            fail(describe_database_error(exc))
        if isinstance(result, int) and result:
            sys.exit(result)
        return result
