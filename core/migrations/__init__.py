"""Alembic migrations of Shelfsync's database."""
