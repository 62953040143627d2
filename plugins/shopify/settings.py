"""The credentials and settings the Shopify plugin declares, and reads through these specs.

Declared once here so that what the CLI validates, what the UI renders and what a sync reads
are the same field: a stored value the spec refuses is read as its default, never a crash.
"""

from __future__ import annotations

from shelfsync.core.types import FieldKind, FieldSpec

#: The stable Admin API version this plugin is written and tested against.
DEFAULT_API_VERSION = "2025-04"
#: Shopify's own ceiling for `first:` in one connection query.
MAX_PAGE_SIZE = 250

ACCESS_TOKEN = FieldSpec("access_token", "Admin API access token", secret=True, required=True,
                         help="The custom app's Admin API access token (shpat_…).")
CLIENT_SECRET = FieldSpec("client_secret", "API secret key", secret=True, required=True,
                          help="Signs the webhooks Shopify sends (HMAC-SHA256).")

API_VERSION = FieldSpec("api_version", "Admin API version", FieldKind.STR,
                        default=DEFAULT_API_VERSION, help="YYYY-MM, e.g. 2025-04",
                        pattern=r"[0-9]{4}-[0-9]{2}|unstable")
PAGE_SIZE = FieldSpec("page_size", "Variants per page", FieldKind.INT, minimum=1,
                      maximum=MAX_PAGE_SIZE,
                      help="Default: the largest page the query cost budget allows.")
LEVELS_PER_ITEM = FieldSpec("levels_per_item", "Locations per variant and page", FieldKind.INT,
                            minimum=1, maximum=MAX_PAGE_SIZE,
                            help="Caps inventory levels read per item; default: every location.")

BULK_READS = FieldSpec("bulk_reads", "Bulk reads for whole-store reads", FieldKind.BOOL,
                       default=True,
                       help="Read the whole store as one bulk query (off: page by page).")

CREDENTIAL_FIELDS = (ACCESS_TOKEN, CLIENT_SECRET)
SETTING_FIELDS = (API_VERSION, PAGE_SIZE, LEVELS_PER_ITEM, BULK_READS)
