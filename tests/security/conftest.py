"""Fixtures of the security tests: the service tests' app and accounts (tests/api/conftest.py)."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401  (fixtures re-exported for this folder)
    cheap_password_hashing,
    sqlite_env,
    web_env,
)
