"""Configuring an organization without the UI: the names older code imports from here.

The policy moved to `shelfsync.core.services` (`connections`, `channel_settings`, `fields`),
where the CLI and the settings UI both find it; this module keeps the old names importable.
"""

from __future__ import annotations

from shelfsync.core.services.channel_settings import (
    RANGES,
    SWITCHES,
    channel_settings,
    known_location_ids,
    update_channel_settings,
)
from shelfsync.core.services.connections import (
    CheckedConnection,
    check_live,
    connect_channel,
    connect_store,
    create_organization,
    find_channel,
    find_organization,
    pick_authorized_shop,
)
from shelfsync.core.services.fields import MAX_NAME_LENGTH

__all__ = [
    "MAX_NAME_LENGTH",
    "RANGES",
    "SWITCHES",
    "CheckedConnection",
    "channel_settings",
    "check_live",
    "connect_channel",
    "connect_store",
    "create_organization",
    "find_channel",
    "find_organization",
    "known_location_ids",
    "pick_authorized_shop",
    "update_channel_settings",
]
