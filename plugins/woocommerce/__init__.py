"""The WooCommerce store plugin: REST API v3 client, hooks and a faithful fake."""
