"""CLI commands: `peyvand index build` (the candidate index of the program catalogue)."""

from __future__ import annotations

import typer

from .context import state

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
    typer.echo(
        f"indexed {result.n_programs} program(s) with {result.model_id} "
        f"in {result.seconds:.1f} s -> {result.path}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(index_app, name="index")
