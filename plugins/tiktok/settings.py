"""The credentials and settings the TikTok Shop plugin declares, and reads through these specs.

Declared once here so that what the CLI validates, what the UI renders and what a sync reads
are the same field: a stored value the spec refuses is read as its default, never a crash.
"""

from __future__ import annotations

from shelfsync.core.types import FieldKind, FieldSpec

#: TikTok's ceiling for `page_size` on the product and order searches.
MAX_PAGE_SIZE = 100
#: 202312 is the version whose schema is published.
DEFAULT_PRODUCT_SEARCH_VERSION = "202312"

CREDENTIAL_FIELDS = (
    FieldSpec("app_key", "App key", required=True, secret=False,
              help="The app's key from TikTok Shop Partner Center."),
    FieldSpec("app_secret", "App secret", secret=True, required=True,
              help="Signs every request and checks webhook signatures."),
    FieldSpec("access_token", "Access token", secret=True, required=True),
    FieldSpec("refresh_token", "Refresh token", secret=True, required=True),
    FieldSpec("shop_cipher", "Shop cipher", secret=True, required=True,
              help="Names the shop in every call; from the authorized shops list."),
)

AUTH_BASE_URL = FieldSpec("auth_base_url", "Auth host", FieldKind.URL,
                          help="Token refresh host; default TikTok's (a fake serves its own).")
PRODUCT_SEARCH_VERSION = FieldSpec("product_search_version", "Product search API version",
                                   default=DEFAULT_PRODUCT_SEARCH_VERSION,
                                   help="an API version of six digits, e.g. 202309",
                                   pattern=r"[0-9]{6}")
LISTING_STATUS = FieldSpec("listing_status", "Listing status filter",
                           help="Only listings in this status (default: every status).")
PAGE_SIZE = FieldSpec("page_size", "Listings per page", FieldKind.INT, default=MAX_PAGE_SIZE,
                      minimum=1, maximum=MAX_PAGE_SIZE, help="Also orders, unless set apart.")
ORDER_PAGE_SIZE = FieldSpec("order_page_size", "Orders per page", FieldKind.INT,
                            minimum=1, maximum=MAX_PAGE_SIZE, help="Default: page_size, or 50.")
QPS = FieldSpec("qps", "Requests per second", FieldKind.FLOAT, default=0.0, minimum=0,
                maximum=1000, help="Paces calls to the shop; 0 means no pacing.")
#: The pacer aims this far under the stated QPS so network jitter cannot push a one-second
#: window over the limit.
QPS_HEADROOM = FieldSpec("qps_headroom", "Share of the QPS used", FieldKind.FLOAT, default=0.97,
                         minimum=0.1, maximum=1)
#: Product updates a push keeps in flight at once: one at a time, a shop's push is bound by
#: the round trip (about 20-60 ms), not by the shop's QPS, which the pacer and core's budget
#: still keep.
PUSH_CONCURRENCY = FieldSpec("push_concurrency", "Product updates in flight", FieldKind.INT,
                             default=4, minimum=1, maximum=16)
#: How long before the stored expiry the token is renewed; tokens last about 7 days.
TOKEN_REFRESH_MARGIN = FieldSpec("token_refresh_margin", "Refresh tokens this early (seconds)",
                                 FieldKind.FLOAT, default=3600.0, minimum=0, maximum=7 * 86400)

#: TikTok's seller cancel reason for a store cancellation whose own reason maps to none
#: (only "out of stock" maps by itself).
CANCEL_REASON = FieldSpec("cancel_reason", "Reason sent when the store cancels",
                          FieldKind.CHOICE, default="seller_cancel_reason_out_of_stock",
                          choices=("seller_cancel_reason_out_of_stock",
                                   "seller_cancel_reason_wrong_price",
                                   "seller_cancel_paid_reason_address_not_deliver"))

SETTING_FIELDS = (AUTH_BASE_URL, PRODUCT_SEARCH_VERSION, LISTING_STATUS, PAGE_SIZE,
                  ORDER_PAGE_SIZE, QPS, QPS_HEADROOM, TOKEN_REFRESH_MARGIN, CANCEL_REASON,
                  PUSH_CONCURRENCY)
#: The credential names, in the order the plugin has always declared them.
CREDENTIAL_NAMES = tuple(field.name for field in CREDENTIAL_FIELDS)
