"""The store's schema: the Alembic migrations shipped with the code (`migrations/`), run by
`Store.upgrade` (`peyvand init`, `peyvand serve`), and the check a process that does not
migrate makes before it takes work (`require_current_schema`: a queue worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from recommender.errors import ConfigurationError, bilingual
from recommender.store.engine import display_url, unreachable

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


class SchemaMigrations:
    """Mixin of `Store` (needs its `url` and `engine`)."""

    url: str
    engine: Engine

    def alembic_config(self) -> Any:
        """An `alembic.config.Config` for this database (no alembic.ini needed)."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to `revision` (idempotent).

        Raises:
            ConfigurationError: the database cannot be reached.
        """
        from alembic import command

        config = self.alembic_config()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except OperationalError as exc:
            raise unreachable(self.url, exc) from exc

    def head_revision(self) -> str | None:
        """The newest migration revision shipped with this code."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None before the first upgrade)."""
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except OperationalError as exc:
            raise unreachable(self.url, exc) from exc

    def require_current_schema(self) -> None:
        """The database answers and its schema is this code's newest (what a process that
        does not migrate, a queue worker, checks before it takes work).

        Raises:
            ConfigurationError: the database cannot be reached (`unreachable`), or its schema
                is at another revision (one line naming the command that brings it up).
        """
        revision, head = self.schema_revision(), self.head_revision()
        if revision != head:
            raise ConfigurationError(
                bilingual(
                    f"the database at {display_url(self.url)} has schema {revision}, this code"
                    f" needs {head}; run `peyvand init` (or start `peyvand serve`) first",
                    f"طرح پایگاه داده در {display_url(self.url)} با این نسخهٔ پیوند هم‌خوان"
                    " نیست؛ نخست `peyvand init` را اجرا کنید (یا `peyvand serve` را آغاز کنید)",
                )
            )
