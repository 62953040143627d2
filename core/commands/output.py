"""Shared CLI plumbing: one error line instead of a traceback, JSON or human output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from shelfsync.core.db import describe_database_error
from shelfsync.core.errors import InvalidInput, ShelfsyncError
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.services.fields import escape_controls

#: Exit codes: 1 for an operation that failed, 2 for input the user must correct.
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

#: The flag or argument the CLI takes each service field from (a setting of a channel's
#: rules, `percent`, is its own `--percent`).
FLAGS = {
    "name": "NAME",
    "organization": "--org",
    "channel": "CHANNEL",
    "platform": "PLATFORM",
    "connection": "--org or CHANNEL",
    "api_base_url": "--api-base-url",
    "shop_id": "--shop-id",
    "credentials": "--credential",
    "settings": "--setting",
}


def flag_for(field: str) -> str:
    """The CLI's name for a service field: `credentials.app_key` → `--credential app_key`.

    A field that already is a flag or an argument (`--available`, `CHANNEL`) is kept.
    """
    if field.startswith("-") or field.isupper():
        return field
    head, _, rest = field.partition(".")
    flag = FLAGS.get(head, "--" + head.replace("_", "-"))
    return f"{flag} {rest}" if rest else flag


def safe(text: object) -> str:
    """A name or message for a human output line: control characters escaped, so a store or
    product name cannot add lines or send terminal escapes."""
    return escape_controls(str(text))


def _without_controls(text: str) -> str:
    """Every control character escaped except the line breaks the output is made of."""
    return "\n".join(escape_controls(line) for line in text.split("\n"))


class OnceOption(click.Option):
    """A value option given at most once: click would keep the last of two silently, so
    `--percent 10 --percent 90` would mean 90 without a word."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        if self.is_flag or self.multiple or self.count:
            super().add_to_parser(parser, ctx)
            return
        parser.add_option(obj=self, opts=self.opts, dest=self.name, action="append",
                          nargs=self.nargs)

    def consume_value(self, ctx: click.Context, opts: Mapping[str, Any]) -> tuple[Any, Any]:
        value, source = super().consume_value(ctx, opts)
        if isinstance(value, list) and not (self.multiple or self.is_flag or self.count):
            if len(value) > 1:
                raise click.UsageError(f"{self.opts[-1]} given {len(value)} times; give it once",
                                       ctx)
            value = value[0]
        return value, source


def option(*names: str, **kwargs: Any) -> Callable[[Any], Any]:
    """`click.option` whose value options refuse being given twice (see `OnceOption`)."""
    kwargs.setdefault("cls", OnceOption)
    return click.option(*names, **kwargs)


def plugin_manager() -> ShelfsyncPluginManager:
    """The CLI's plugin manager: built once per invocation and kept on the click context."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, ShelfsyncPluginManager):
        root.obj = get_plugin_manager()
    return root.obj


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print one error line on stderr and exit."""
    click.echo(f"error: {safe(message)}", err=True)
    sys.exit(code)


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print `data` as one JSON document, or as `human(data)` text."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        click.echo(_without_controls(human(data) if human else str(data)))


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
            fail(f"{flag_for(exc.field)}: {exc.detail}", EXIT_BAD_INPUT)
        except ShelfsyncError as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            # Unreachable server, never-migrated or outdated schema: what to run, no SQL, no
            # password, whichever command met it.
            fail(describe_database_error(exc))
        if isinstance(result, int) and result:
            sys.exit(result)
        return result
