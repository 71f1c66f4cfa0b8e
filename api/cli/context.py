"""What every CLI command needs: the settings and the home folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from api.settings import Settings


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
