"""Tests of the Alembic migrations: up from empty, back down, files named in chain order."""
