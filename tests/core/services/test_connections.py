"""`core/services/connections.py` on the real database (SQLite and PostgreSQL): look-ups that
refuse huge ids and all-digit names, settings changed all or nothing, and credentials refused
before any live call. Errors name service fields, which the CLI and the forms map."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from shelfsync.core.crypto import generate_key
from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import ChannelConnection, Organization
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.services import connections
from shelfsync.core.types import Role


@pytest.fixture
def pm() -> ShelfsyncPluginManager:
    return get_plugin_manager()


@pytest.fixture
def channel(session: Session, monkeypatch: pytest.MonkeyPatch) -> ChannelConnection:
    """A TikTok channel as saved earlier, one of its settings bad from an older version."""
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    organization = connections.create_organization(session, "Shop & Co")
    assert organization.id is not None
    row = ChannelConnection(organization_id=organization.id, platform="tiktok",
                            base_url="https://open-api.tiktokglobalshop.com", shop_id="7001",
                            settings={"page_size": "lots", "legacy": "x"})
    row.set_credentials({"app_key": "k", "app_secret": "s", "access_token": "a",
                         "refresh_token": "r", "shop_cipher": "c"})
    session.add(row)
    session.commit()
    return row


def test_organizations_are_found_by_id_or_name_and_huge_ids_refused(session: Session) -> None:
    created = connections.create_organization(session, "Acme")
    assert connections.find_organization(session, str(created.id)).name == "Acme"
    assert connections.find_organization(session, " Acme ").id == created.id
    with pytest.raises(InvalidInput) as caught:
        connections.find_organization(session, "9" * 25)
    assert caught.value.field == "organization" and "must be an id" in caught.value.detail
    with pytest.raises(InvalidInput, match="already exists"):
        connections.create_organization(session, "Acme")


def test_an_all_digit_name_is_refused_so_no_name_is_shadowed_by_an_id(session: Session) -> None:
    first = connections.create_organization(session, "First")
    with pytest.raises(InvalidInput) as caught:
        connections.create_organization(session, str(first.id))
    assert caught.value.field == "name" and "all digits" in caught.value.detail
    assert session.get(Organization, first.id) is not None
    assert len(session.exec(select(Organization)).all()) == 1


def test_a_channel_id_beyond_64_bits_is_an_input_error(session: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        connections.find_channel(session, "1" + "0" * 20)
    assert caught.value.field == "channel"


def test_settings_change_all_or_nothing_and_bad_stored_ones_reset(
    session: Session, pm: ShelfsyncPluginManager, channel: ChannelConnection
) -> None:
    assert connections.role_of(channel) is Role.CHANNEL
    assert set(connections.connection_setting_problems(pm, channel)) == {"page_size", "legacy"}
    with pytest.raises(InvalidInput) as caught:
        connections.update_connection_settings(session, pm, channel,
                                               {"qps": "5", "timeout": "nan"})
    assert caught.value.field == "settings.timeout"
    session.refresh(channel)
    assert channel.settings == {"page_size": "lots", "legacy": "x"}
    with pytest.raises(InvalidInput, match="not a setting of tiktok"):
        connections.update_connection_settings(session, pm, channel, {}, ["nonsense"])

    saved = connections.update_connection_settings(session, pm, channel, {"qps": "5"},
                                                   ["page_size", "legacy"])
    session.commit()
    assert saved == {"qps": 5.0}
    session.refresh(channel)
    assert channel.settings == {"qps": 5.0}
    assert connections.connection_setting_problems(pm, channel) == {}


@pytest.mark.parametrize("token", ["new\ntoken", "new\x1b[0m", "nëw"])
def test_reconnect_refuses_an_unsendable_credential_before_any_call(
    session: Session, pm: ShelfsyncPluginManager, channel: ChannelConnection, token: str
) -> None:
    """No live call is made (the base URL is TikTok's real host): the check comes first."""
    with pytest.raises(InvalidInput) as caught:
        connections.reconnect(session, pm, channel, {"access_token": token})
    assert caught.value.field == "credentials.access_token"
    assert token not in str(caught.value)
    session.refresh(channel)
    assert channel.credentials()["access_token"] == "a"
