"""Alembic migrations of the Peyvand store (run them with `Store.upgrade()`)."""
