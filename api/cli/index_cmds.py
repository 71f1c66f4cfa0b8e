"""CLI commands: `peyvand index build` (the candidate index of the program catalogue)."""

from __future__ import annotations

import typer

from .context import state
from .say import n, say, seconds

index_app = typer.Typer(
    name="index",
    help="نمایهٔ نامزدها از برنامه‌ها (بردارها + BM25).",
    no_args_is_help=True,
)


@index_app.command("build")
def build(ctx: typer.Context) -> None:
    """ساختن بردار همهٔ برنامه‌های ثبت‌شده و ذخیرهٔ نسخهٔ تازه‌ای از نمایه (یکجا).

    بردار برنامه‌هایی که با همین مدل ساخته شده‌اند از حافظهٔ نهان می‌آید؛ پس پس از یک
    درون‌ریزی کوچک فقط برنامه‌های تغییرکرده دوباره بردار می‌گیرند.
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
