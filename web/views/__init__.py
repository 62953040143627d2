"""The settings UI's blueprints, one per area."""
