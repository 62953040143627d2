"""Re-authorizing a connection the platform stopped accepting: the names older code imports.

A store or shop is marked `needs_reauth` when the platform refuses our credentials (a revoked
app, an expired refresh token) or tells us access was withdrawn (Shopify's `app/uninstalled`,
TikTok's SELLER_DEAUTHORIZATION). Reconnecting keeps the connection's id, so its links, last
pushed quantities, settings, audit and webhook address all carry on. The policy lives in
`shelfsync.core.services.connections`.
"""

from __future__ import annotations

from shelfsync.core.services.connections import reconnect, store_of

__all__ = ["reconnect", "store_of"]
