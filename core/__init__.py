"""Shelfsync's framework: the plugin contract, rules, engine, persistence, workers and CLI."""
