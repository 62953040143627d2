"""The credentials and settings the Magento plugin declares, and reads through these specs."""

from __future__ import annotations

from shelfsync.core.types import FieldKind, FieldSpec

#: Magento's own ceiling for `pageSize` when the Web API input limits are on (2.4.3 shipped
#: them on); staying within it works whether a store enables them or not.
MAX_PAGE_SIZE = 300

ACCESS_TOKEN = FieldSpec(
    "access_token", "Integration access token", secret=True, required=True,
    help="System > Extensions > Integrations > (your integration) > Access Token. Since 2.4.4 "
         "enable 'Allow OAuth Access Tokens to be used as standalone Bearer tokens'.")

STORE_CODE = FieldSpec("store_code", "Store view code", FieldKind.STR, default="default",
                       pattern=r"[a-z][a-z0-9_]{0,31}", help="a store view code such as default")
STOCK_ID = FieldSpec("stock_id", "MSI stock id", FieldKind.INT, default=1, minimum=1,
                     maximum=1_000_000,
                     help="The stock whose salable quantity is synced (1 = Default Stock).")
POLL_SECONDS = FieldSpec("poll_seconds", "Seconds between change polls", FieldKind.INT,
                         default=60, minimum=5, maximum=3600,
                         help="Magento sends no stock webhooks: changes are found by polling.")
PAGE_SIZE = FieldSpec("page_size", "Items per page", FieldKind.INT, default=MAX_PAGE_SIZE,
                      minimum=1, maximum=MAX_PAGE_SIZE)
ORDER_EMAIL_DOMAIN = FieldSpec(
    "order_email_domain", "Domain of the guest email of channel orders", FieldKind.STR,
    default="example.com", pattern=r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
    help="a domain such as example.com; orders are placed as tiktok-order-<id>@<domain>")
PAYMENT_METHOD = FieldSpec("payment_method", "Payment method code", FieldKind.STR,
                           default="checkmo", pattern=r"[a-z0-9_]{1,64}",
                           help="an offline method such as checkmo")
SHIPPING_CARRIER = FieldSpec("shipping_carrier", "Shipping carrier code", FieldKind.STR,
                             default="flatrate", pattern=r"[a-z0-9_]{1,64}",
                             help="a carrier code such as flatrate")
SHIPPING_METHOD = FieldSpec("shipping_method", "Shipping method code", FieldKind.STR,
                            default="flatrate", pattern=r"[a-z0-9_]{1,64}",
                            help="a method code such as flatrate")

CREDENTIAL_FIELDS = (ACCESS_TOKEN,)
SETTING_FIELDS = (STORE_CODE, STOCK_ID, POLL_SECONDS, PAGE_SIZE, ORDER_EMAIL_DOMAIN,
                  PAYMENT_METHOD, SHIPPING_CARRIER, SHIPPING_METHOD)
