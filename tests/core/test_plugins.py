"""Entry-point discovery: allow-list, broken plugins reported by name, misspelled hooks refused."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pluggy
import pytest

from shelfsync.core.plugins import ALLOW_LIST_ENV, get_plugin_manager


def install_distribution(
    root: Path, name: str, entry_points: dict[str, str], modules: dict[str, str]
) -> None:
    """Lay out a minimal installed distribution that importlib.metadata discovers."""
    dist_info = root / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[shelfsync]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


GOOD = """
    from shelfsync.core.hookspecs import hookimpl
    from shelfsync.core.types import Capabilities, PlatformInfo, Role

    @hookimpl
    def shelfsync_platform_info():
        return PlatformInfo(name="acme", title="Acme", role=Role.STORE,
                            capabilities=Capabilities(), credential_fields=("token",))
"""


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(ALLOW_LIST_ENV, raising=False)
    return tmp_path


def test_builtin_plugins_load_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_LIST_ENV, raising=False)
    pm = get_plugin_manager()
    assert {"shopify", "tiktok"} <= set(pm.platforms())
    assert not pm.load_failures


def test_third_party_plugin_is_discovered(third_party: Path) -> None:
    install_distribution(third_party, "acme_plugin", {"acme": "acme_hooks"}, {"acme_hooks": GOOD})
    pm = get_plugin_manager()
    assert pm.platform("acme").credential_names == ("token",)


def test_broken_plugin_is_reported_and_others_load(third_party: Path) -> None:
    install_distribution(
        third_party,
        "broken_plugin",
        {"broken": "broken_hooks", "acme": "acme_hooks"},
        {"broken_hooks": "raise RuntimeError('boom at import')\n", "acme_hooks": GOOD},
    )
    pm = get_plugin_manager()
    broken = [(f.name, f.error) for f in pm.load_failures if f.name == "broken"]
    assert broken == [("broken", "RuntimeError: boom at import")]
    assert "acme" in pm.platforms()


def test_allow_list_restricts_loading(third_party: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_distribution(third_party, "acme_plugin", {"acme": "acme_hooks"}, {"acme_hooks": GOOD})
    monkeypatch.setenv(ALLOW_LIST_ENV, "acme")
    pm = get_plugin_manager()
    assert set(pm.platforms()) == {"acme"}


def test_misspelled_hook_fails_at_start_up(third_party: Path) -> None:
    misspelled = """
        from shelfsync.core.hookspecs import hookimpl

        @hookimpl
        def shelfsync_fetch_stock_level(connection, skus):
            return []
    """
    install_distribution(
        third_party, "typo_plugin", {"typo": "typo_hooks"}, {"typo_hooks": misspelled}
    )
    with pytest.raises(pluggy.PluginValidationError, match="shelfsync_fetch_stock_level"):
        get_plugin_manager()


def test_unknown_platform_names_the_installed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_LIST_ENV, raising=False)
    with pytest.raises(KeyError, match=r"installed: .*shopify"):
        get_plugin_manager().platform("nope")
