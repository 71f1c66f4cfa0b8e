"""What every CLI command needs: the settings and the home folder, the store of the home,
and who is acting (for the audit log)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.settings import Settings

if TYPE_CHECKING:  # the store loads SQLAlchemy: imported when a command runs
    from recommender.store.database import Store

# `--skip-invalid` of every import command (data and events): the same rule, the same words.
SkipInvalid = Annotated[
    bool,
    typer.Option("--skip-invalid", help="ردیف‌های درست وارد و ردیف‌های نادرست فهرست شوند."),
]


@dataclass
class CliState:
    settings: Settings

    @classmethod
    def create(cls, home: Path | None) -> CliState:
        settings = Settings(home=home) if home is not None else Settings()
        return cls(settings=settings)


def state(ctx: typer.Context) -> CliState:
    """The CliState of the running command (set by the global callback)."""
    root = ctx.find_root()
    assert isinstance(root.obj, CliState)
    return root.obj


def open_store(settings: Settings) -> Store:
    """The store of the home (creating the home folder), migrated to the newest schema."""
    from api.services import open_store as _open

    return _open(settings)


def actor() -> str:
    """Who runs the command, as the audit log names them (`cli:<login>`)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
