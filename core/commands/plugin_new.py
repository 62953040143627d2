"""`shelfsync plugin new NAME --role store|channel [--dir PATH]`: start a plugin package.

Writes `PATH/NAME-shelfsync/`: a pyproject declaring the `shelfsync` entry point, and
`NAME_shelfsync/` with `plugin.py` (hooks), `client.py` (on `shelfsync.core.rest`),
`mapping.py`, `fake.py` (an imaginary API with its truth for the kit), `commands.py`
(`shelfsync fake NAME`), and `tests/test_contract.py`. The package passes the contract kit as
generated; TODOs mark where the real API goes. Templates live in `core/scaffold/`, written
for a platform called `acme`, which is replaced by NAME.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

SCAFFOLD = Path(__file__).resolve().parent.parent / "scaffold"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
#: Template file -> where it goes in the package (`{pkg}` is NAME_shelfsync).
_COMMON = {
    "pyproject.toml": "pyproject.toml",
    "README.md": "README.md",
    "__init__.py": "{pkg}/__init__.py",
    "commands.py": "{pkg}/commands.py",
    "test_contract.py": "tests/test_contract.py",
}
_ROLE_FILES = ("plugin.py", "client.py", "mapping.py", "fake.py")


def render(text: str, name: str, role: str) -> str:
    """A template's text for platform `name` of `role`."""
    title = "".join(part.capitalize() for part in name.split("_"))
    return (text.replace("acme", name).replace("Acme", title)
            .replace("ROLE", role))


def write_plugin(name: str, role: str, directory: Path) -> Path:
    """Write the package for `name` under `directory`; returns its folder."""
    if not _NAME.match(name):
        raise click.UsageError(f"NAME must be 2-31 lower-case letters, digits or _, starting "
                               f"with a letter; got {name!r}")
    target = directory / f"{name}-shelfsync"
    if target.exists():
        raise click.UsageError(f"{target} already exists; choose another --dir or NAME")
    package = f"{name}_shelfsync"
    files = {dest.format(pkg=package): SCAFFOLD / "common" / src
             for src, dest in _COMMON.items()}
    files.update({f"{package}/{src}": SCAFFOLD / role / "acme_shelfsync" / src
                  for src in _ROLE_FILES})
    for dest, src in files.items():
        path = target / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(src.read_text(encoding="utf-8"), name, role), encoding="utf-8")
    return target


@click.group("plugin")
def plugin_group() -> None:
    """Write a new platform plugin."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--role", type=click.Choice(["store", "channel"]), required=True,
              help="A store (stock, orders land) or a channel (listings, pushes).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Where to create the package.")
def new_command(name: str, role: str, directory: Path) -> None:
    """Write an installable plugin package NAME-shelfsync that passes the contract kit."""
    target = write_plugin(name, role, directory)
    click.echo(f"wrote {target}")
    click.echo(f"next: pip install -e {target} && pytest {target}/tests")
