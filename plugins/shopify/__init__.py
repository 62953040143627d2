"""Shopify plugin: Admin GraphQL API client, hooks and a faithful local fake."""
