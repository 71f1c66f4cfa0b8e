"""CLI commands: `peyvand index build` (the candidate index of the program catalogue)."""

from __future__ import annotations

import typer

from .context import state
from .say import n, say, seconds

index_app = typer.Typer(
    name="index",
    help="The candidate index of the programs (embeddings + BM25).",
    no_args_is_help=True,
)


@index_app.command("build")
def build(ctx: typer.Context) -> None:
    """Embed every program of the store and save a new index version (atomically).

    Programs already embedded with the same model come from the vector cache, so a rebuild
    after a small import embeds only what changed.
    """
    from api.services import build_index

    result = build_index(state(ctx).settings)
    say(
        f"{n(result.n_programs)} برنامه با {result.model_id} در {seconds(result.seconds)} "
        f"نمایه شد: {result.path}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(index_app, name="index")
