"""The `shelfsync` CLI commands, one small module per area."""
