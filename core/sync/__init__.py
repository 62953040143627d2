"""The sync engine: plain functions over a session and the plugin manager, free of Dramatiq."""
