"""The credentials and settings the WooCommerce plugin declares, and reads through these specs.

Declared once here so that what the CLI validates, what the UI renders and what a sync reads
are the same field: a stored value the spec refuses is read as its default, never a crash.
"""

from __future__ import annotations

from shelfsync.core.types import FieldKind, FieldSpec

#: WordPress's ceiling for `per_page` on every collection.
MAX_PAGE_SIZE = 100

CONSUMER_KEY = FieldSpec("consumer_key", "Consumer key", secret=True, required=True,
                         help="From WooCommerce → Settings → Advanced → REST API (ck_…), "
                              "with Read/Write permissions.")
CONSUMER_SECRET = FieldSpec("consumer_secret", "Consumer secret", secret=True, required=True,
                            help="Shown once, next to the consumer key (cs_…).")
WEBHOOK_SECRET = FieldSpec("webhook_secret", "Webhook secret", secret=True, required=True,
                           help="Signs the webhooks Shelfsync creates (HMAC-SHA256); any "
                                "long random text.")

QUERY_STRING_AUTH = FieldSpec("query_string_auth", "Send the key in the query string",
                              FieldKind.BOOL, default=False,
                              help="For hosts that strip the Authorization header; HTTPS "
                                   "only.")
POLL_SECONDS = FieldSpec("poll_seconds", "Poll for changes every (seconds)", FieldKind.INT,
                         default=60, minimum=10, maximum=3600,
                         help="Stock an order moves raises no product webhook: products and "
                              "orders changed since the last poll are read this often.")
PAGE_SIZE = FieldSpec("page_size", "Products per page", FieldKind.INT, default=MAX_PAGE_SIZE,
                      minimum=1, maximum=MAX_PAGE_SIZE)
ORDER_LOOKUP_HOURS = FieldSpec("order_lookup_hours", "Order look-up window (hours)",
                               FieldKind.FLOAT, default=1.0, minimum=0.05, maximum=72,
                               help="Orders created this long before the TikTok order are "
                                    "searched for its id before one is created.")

CREDENTIAL_FIELDS = (CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET)
SETTING_FIELDS = (QUERY_STRING_AUTH, POLL_SECONDS, PAGE_SIZE, ORDER_LOOKUP_HOURS)
